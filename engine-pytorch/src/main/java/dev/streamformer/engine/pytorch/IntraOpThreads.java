package dev.streamformer.engine.pytorch;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;

/**
 * PyTorch's intra-op thread count applies to the calling Java thread, and every new thread starts
 * with the engine default. This applies a chosen count once per thread, before its first forward
 * pass.
 */
public final class IntraOpThreads {

    private static final ThreadLocal<Integer> APPLIED = new ThreadLocal<>();

    private IntraOpThreads() {
    }

    /**
     * Sets the calling thread's intra-op threads if it has not been set to that count already.
     *
     * @param threads the count; 0 or less leaves the engine default
     */
    public static void apply(final int threads) {
        if (threads <= 0) {
            return;
        }
        final Integer current = APPLIED.get();
        if (current == null || current != threads) {
            // The native library must be loaded before its thread setting can be called.
            Engine.getEngine(SharedEncoder.ENGINE);
            JniUtils.setNumThreads(threads);
            APPLIED.set(threads);
        }
    }
}
