package dev.streamformer.model;

/**
 * One engine's forward pass: logits of a validated, padded batch. An implementation holds one copy
 * of the weights and is called by many threads at once; a call's activations never outlive it.
 */
public interface ForwardPass extends AutoCloseable {

    /**
     * Runs a batch.
     *
     * @param batch the padded batch, already validated against the model's limits
     * @return B x C logits, row-major
     */
    float[] logits(EncoderBatch batch);

    /** Frees the weights and the engine's session. */
    @Override
    void close();
}
