package dev.streamformer.model;

/**
 * How a model is loaded for serving.
 *
 * @param engine the engine
 * @param intraOpThreads threads of one forward pass: for ONNX Runtime the session's intra-op pool
 *     (caller included), for PyTorch the calling thread's intra-op threads; 0 = the engine default
 * @param prepacking ONNX Runtime only: whether constant matrices are repacked for its kernels at load
 */
public record EngineSettings(InferenceEngine engine, int intraOpThreads, boolean prepacking) {

    /** The serving default: ONNX Runtime, one intra-op thread, prepacking on. */
    public static final EngineSettings DEFAULT = new EngineSettings(InferenceEngine.DEFAULT, 1, true);

    /**
     * @param engine the engine
     * @param intraOpThreads threads per forward pass, 0 = engine default
     * @return settings with prepacking on
     */
    public static EngineSettings of(final InferenceEngine engine, final int intraOpThreads) {
        return new EngineSettings(engine, intraOpThreads, true);
    }
}
