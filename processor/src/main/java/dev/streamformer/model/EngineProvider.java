package dev.streamformer.model;

import java.io.IOException;
import java.nio.file.Path;

/**
 * An engine that runs the encoder's forward pass, found with {@link java.util.ServiceLoader} when its
 * artifact is on the class path: ONNX Runtime ships with the processor library; DJL on PyTorch (the
 * encoder that trains, and the numeric reference) is {@code dev.streamformer:streamformer-engine-pytorch}.
 * An implementation is registered in {@code META-INF/services/dev.streamformer.model.EngineProvider}.
 */
public interface EngineProvider {

    /** @return the engine this provides */
    InferenceEngine engine();

    /**
     * Builds the forward pass of a checkpoint: one copy of its weights, for every thread.
     *
     * @param checkpoint the weights
     * @param name the model name, for the engine's own logs and graph names
     * @param settings threads and engine options
     * @return the pass; its caller closes it
     */
    ForwardPass forward(Checkpoint checkpoint, String name, EngineSettings settings);

    /**
     * Opens an exported graph ({@code model.onnx}) as it is, for engines that run one.
     *
     * @param file the graph
     * @param config the directory's config.json
     * @param settings threads and engine options
     * @return the pass and the graph's parameter statistics
     * @throws IOException when the file cannot be read
     * @throws IllegalArgumentException when this engine does not run exported graphs
     */
    default Exported exported(final Path file, final ModelConfig config, final EngineSettings settings)
            throws IOException {
        throw new IllegalArgumentException(file.getParent() + " holds " + file.getFileName() + ", which only the "
                + InferenceEngine.ONNXRUNTIME + " engine serves: use --engine " + InferenceEngine.ONNXRUNTIME + " (the "
                + engine() + " engine needs config.json and " + ModelDirectory.WEIGHTS + ")");
    }

    /**
     * An exported graph opened by an engine.
     *
     * @param forward its forward pass
     * @param stats its parameter statistics, read from the graph
     */
    record Exported(ForwardPass forward, ParameterStats stats) {
    }
}
