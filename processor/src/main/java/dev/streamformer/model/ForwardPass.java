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

    /**
     * Runs a batch with early exit: after each layer the records the policy lets go leave with their
     * exit's answer (a model with {@link ExitHeads}).
     *
     * @param batch the padded batch, already validated
     * @param policy when a record leaves
     * @return each record's logits and the layers it ran
     * @throws UnsupportedOperationException when this pass runs the encoder as one graph
     */
    default Exited logitsWithExits(final EncoderBatch batch, final ExitPolicy policy) {
        throw new UnsupportedOperationException("this forward pass runs every layer as one graph; early exit needs a"
                + " model with exit heads (model finetune --exits)");
    }

    /**
     * What each record of a batch answered when it left.
     *
     * @param logits B x C, each record's exit's logits, row-major
     * @param layers the layers each record ran (1 to L)
     */
    record Exited(float[] logits, int[] layers) {
    }

    /** Frees the weights and the engine's session. */
    @Override
    void close();
}
