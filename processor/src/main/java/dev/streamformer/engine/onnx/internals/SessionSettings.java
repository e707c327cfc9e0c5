package dev.streamformer.engine.onnx.internals;

import java.nio.file.Path;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;

/**
 * How an ONNX Runtime session is made.
 *
 * @param intraOpThreads threads of one {@code run} call (the caller plus a pool of this minus one);
 *     0 = ONNX Runtime's default, one per core
 * @param prepacking whether ONNX Runtime repacks constant matrices into its kernels' layout at load
 * @param optimizedModel where to write the graph as ONNX Runtime optimized it (to see what fused),
 *     or null
 */
public record SessionSettings(int intraOpThreads, boolean prepacking, Path optimizedModel) {

    /**
     * @param intraOpThreads threads per run call, 0 = one per core
     * @param prepacking whether constant matrices are prepacked
     * @return settings that write no optimized model
     */
    public static SessionSettings of(final int intraOpThreads, final boolean prepacking) {
        return new SessionSettings(intraOpThreads, prepacking, null);
    }

    OrtSession.SessionOptions toOptions() throws OrtException {
        final OrtSession.SessionOptions o = new OrtSession.SessionOptions();
        try {
            o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            o.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            o.setIntraOpNumThreads(intraOpThreads);
            o.setInterOpNumThreads(1);
            o.addConfigEntry("session.disable_prepacking", prepacking ? "0" : "1");
            if (optimizedModel != null) {
                o.setOptimizedModelFilePath(optimizedModel.toString());
            }
            return o;
        } catch (OrtException | RuntimeException e) {
            o.close();
            throw e;
        }
    }
}
