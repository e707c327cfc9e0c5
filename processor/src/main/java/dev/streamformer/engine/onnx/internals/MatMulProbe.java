package dev.streamformer.engine.onnx.internals;

import java.nio.FloatBuffer;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;

/**
 * An n x n x n fp32 matrix product on ONNX Runtime (its MLAS kernels), for the matmul ceiling
 * that benchmarks compare the encoder with. The right operand is a constant, as a weight is.
 * Thread-safe: many threads may call {@link #run()} at once.
 */
public final class MatMulProbe implements AutoCloseable {

    private final OrtSession session;
    private final OnnxTensor input;

    /**
     * @param n the size
     * @param intraOpThreads threads of one product
     */
    public MatMulProbe(final int n, final int intraOpThreads) {
        final GraphBuilder g = new GraphBuilder("matmul");
        final String x = g.floatInput("x", n, n);
        final SplittableRandom random = new SplittableRandom(3);
        final float[] w = new float[n * n];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) random.nextGaussian();
        }
        g.op("MatMul", List.of(x, g.floats("w", new long[] {n, n}, w)));
        g.renameLast("y");
        g.floatOutput("y", n);
        final float[] a = new float[n * n];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) random.nextGaussian();
        }
        final OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions o = SessionSettings.of(intraOpThreads, true).toOptions()) {
            this.session = env.createSession(g.build("streamformer", "matmul ceiling", List.of()).toByteArray(), o);
            this.input = OnnxTensor.createTensor(env, FloatBuffer.wrap(a), new long[] {n, n});
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime refused the matmul probe: " + e.getMessage(), e);
        }
    }

    /** Runs one product and reads the result back. */
    public void run() {
        try (OrtSession.Result r = session.run(Map.of("x", input))) {
            ((OnnxTensor) r.get(0)).getFloatBuffer();
        } catch (OrtException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        input.close();
        try {
            session.close();
        } catch (OrtException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }
}
