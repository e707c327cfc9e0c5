package dev.streamformer.model;

import java.util.Arrays;
import java.util.Locale;

/** The engines that run a forward pass. */
public enum InferenceEngine {
    /**
     * ONNX Runtime: the encoder's ONNX graph is built from the checkpoint at load (or read from the
     * directory's model.onnx); one session serves every thread. The serving default.
     */
    ONNXRUNTIME("onnxruntime", "dev.streamformer:streamformer-processor"),
    /**
     * DJL on PyTorch: the encoder that trains (autograd) and the numeric reference, in an artifact of its
     * own with PyTorch's native libraries for the platform beside it.
     */
    PYTORCH("pytorch", "dev.streamformer:streamformer-engine-pytorch (with ai.djl.pytorch:pytorch-native-cpu for"
            + " the platform)");

    /** The engine that serves unless another is chosen. */
    public static final InferenceEngine DEFAULT = ONNXRUNTIME;

    private final String configName;
    private final String artifact;

    InferenceEngine(final String configName, final String artifact) {
        this.configName = configName;
        this.artifact = artifact;
    }

    /** @return the Maven artifact that provides the engine */
    public String artifact() {
        return artifact;
    }

    /** @return the name used in configuration and on the command line */
    public String configName() {
        return configName;
    }

    /**
     * @param name onnxruntime or pytorch, in any case
     * @return the engine
     * @throws IllegalArgumentException naming the choices
     */
    public static InferenceEngine parse(final String name) {
        for (final InferenceEngine e : values()) {
            if (e.configName.equals(name.trim().toLowerCase(Locale.ROOT))) {
                return e;
            }
        }
        throw new IllegalArgumentException("Unknown engine '" + name + "': use one of "
                + Arrays.stream(values()).map(InferenceEngine::configName).toList());
    }

    @Override
    public String toString() {
        return configName;
    }
}
