package dev.streamformer.model;

/**
 * An input checked against one model's limits by {@link InferenceModel#validate}; that model runs it
 * ({@link InferenceModel#run}) without checking it again.
 */
public final class ValidInput {

    private final EncoderInput input;
    private final ModelConfig config;

    ValidInput(final EncoderInput input, final ModelConfig config) {
        this.input = input;
        this.config = config;
    }

    /** @return the checked input */
    public EncoderInput input() {
        return input;
    }

    /** @return the config it was checked against */
    ModelConfig config() {
        return config;
    }
}
