package dev.streamformer.model;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * A loaded model ready to serve: one copy of the weights that any number of threads may call at
 * once. Each call runs in its own NDManager, closed before the call returns, so a call's
 * activations never outlive it and the weights are never written.
 */
public final class InferenceModel implements AutoCloseable {

    private final String name;
    private final String version;
    private final SharedEncoder encoder;
    private final ParameterStats stats;
    private volatile int intraOpThreads;

    /**
     * Wraps a checkpoint.
     *
     * @param name the model name reported in predictions
     * @param version the content hash reported in predictions
     * @param checkpoint the weights
     */
    public InferenceModel(final String name, final String version, final Checkpoint checkpoint) {
        this.name = name;
        this.version = version;
        this.stats = ParameterStats.of(checkpoint);
        this.encoder = SharedEncoder.forInference(checkpoint);
    }

    /**
     * Loads a model directory. The name is the directory's name and the version its content hash.
     *
     * @param dir the model directory
     * @return the model
     * @throws IOException when the directory cannot be read
     */
    public static InferenceModel load(final Path dir) throws IOException {
        final Path abs = dir.toAbsolutePath().normalize();
        final Checkpoint checkpoint = Checkpoint.load(abs);
        return new InferenceModel(abs.getFileName().toString(), Checkpoint.version(abs), checkpoint);
    }

    /** @return the model name */
    public String name() {
        return name;
    }

    /** @return the content hash */
    public String version() {
        return version;
    }

    /** @return the architecture */
    public ModelConfig config() {
        return encoder.config();
    }

    /** @return the parameter statistics */
    public ParameterStats stats() {
        return stats;
    }

    /** @return the encoder, whose weights are shared by every caller */
    public SharedEncoder encoder() {
        return encoder;
    }

    /**
     * Sets the intra-op threads that each calling thread uses from its next call on.
     *
     * @param threads the count; 0 keeps the engine default
     */
    public void setIntraOpThreads(final int threads) {
        this.intraOpThreads = threads;
    }

    /**
     * Checks one input against this model without running it.
     *
     * @param input the sequence
     * @throws InvalidInputException naming the problem and the fix
     */
    public void validate(final EncoderInput input) {
        EncoderBatch.validate(config(), -1, input);
    }

    /**
     * Runs a batch of sequences.
     *
     * @param inputs the sequences; lengths may differ, the batch is padded and masked
     * @return one output per input, in order
     * @throws InvalidInputException when an input cannot run
     */
    public List<ModelOutput> predict(final List<EncoderInput> inputs) {
        IntraOpThreads.apply(intraOpThreads);
        try (NDManager manager = Engine.getEngine(SharedEncoder.ENGINE).newBaseManager()) {
            final SharedEncoder.Output out = encoder.forward(manager, inputs, true);
            final NDArray probabilities = out.logits().softmax(-1);
            final float[] logits = out.logits().toFloatArray();
            final float[] probs = probabilities.toFloatArray();
            final float[] pooled = out.pooled().toFloatArray();
            final int c = config().numLabels();
            final int h = config().hiddenSize();
            final List<ModelOutput> results = new ArrayList<>(inputs.size());
            for (int i = 0; i < inputs.size(); i++) {
                results.add(new ModelOutput(
                        java.util.Arrays.copyOfRange(logits, i * c, (i + 1) * c),
                        java.util.Arrays.copyOfRange(probs, i * c, (i + 1) * c),
                        java.util.Arrays.copyOfRange(pooled, i * h, (i + 1) * h)));
            }
            return results;
        }
    }

    @Override
    public void close() {
        encoder.close();
    }
}
