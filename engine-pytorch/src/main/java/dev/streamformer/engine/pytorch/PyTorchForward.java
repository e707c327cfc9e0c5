package dev.streamformer.engine.pytorch;

import java.util.List;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.EncoderBatch;
import dev.streamformer.model.ExitPolicy;
import dev.streamformer.model.ForwardPass;
import dev.streamformer.model.InferenceEngine;
import dev.streamformer.model.InferenceModel;

/**
 * The forward pass on DJL's PyTorch engine: the {@link SharedEncoder}, whose one copy of the
 * weights every calling thread reads. Each call runs in its own NDManager, closed before it returns.
 */
public final class PyTorchForward implements ForwardPass {

    private final SharedEncoder encoder;
    private final int intraOpThreads;

    PyTorchForward(final Checkpoint checkpoint, final int intraOpThreads) {
        requireNatives();
        this.encoder = SharedEncoder.forInference(checkpoint);
        this.intraOpThreads = intraOpThreads;
    }

    /**
     * Without its native libraries DJL would try to download them, and fail offline with a message that
     * does not say why; say it here.
     */
    static void requireNatives() {
        final String platform = "linux-" + ("amd64".equals(System.getProperty("os.arch")) ? "x86_64"
                : System.getProperty("os.arch"));
        if (PyTorchForward.class.getResource("/pytorch/cpu/" + platform + "/libtorch.so") == null) {
            throw new IllegalStateException("The " + InferenceEngine.PYTORCH + " engine needs PyTorch's native"
                    + " libraries for " + platform + " (ai.djl.pytorch:pytorch-native-cpu, classifier linux-x86_64),"
                    + " which are not on the class path (the Docker image and non-x86-64 machines go without them):"
                    + " serve with --engine " + InferenceEngine.ONNXRUNTIME);
        }
    }

    /** @return the encoder, whose weights every caller shares */
    public SharedEncoder encoder() {
        return encoder;
    }

    /**
     * The PyTorch encoder of a model loaded on this engine, for training and reference passes.
     *
     * @param model the model
     * @return its encoder; close the model, not the encoder
     * @throws IllegalStateException when another engine serves the model
     */
    public static SharedEncoder encoder(final InferenceModel model) {
        if (model.forwardPass() instanceof PyTorchForward p) {
            return p.encoder();
        }
        throw new IllegalStateException("Model " + model.name() + " runs on " + model.engine() + ", not on "
                + InferenceEngine.PYTORCH);
    }

    @Override
    public float[] logits(final EncoderBatch batch) {
        IntraOpThreads.apply(intraOpThreads);
        try (NDManager manager = Engine.getEngine(SharedEncoder.ENGINE).newBaseManager()) {
            return encoder.forward(manager, batch, true).logits().toFloatArray();
        }
    }

    /**
     * The reference of early exit: every exit of every record, then the policy's choice among them
     * (what a server that runs layer by layer decides, since a choice reads only the exits up to it).
     */
    @Override
    public Exited logitsWithExits(final EncoderBatch batch, final ExitPolicy policy) {
        IntraOpThreads.apply(intraOpThreads);
        final int labels = encoder.config().numLabels();
        try (NDManager manager = Engine.getEngine(SharedEncoder.ENGINE).newBaseManager()) {
            final List<NDArray> depths = encoder.logitsAtEveryDepth(manager, batch, true);
            final float[][] byDepth = new float[depths.size()][];
            for (int l = 0; l < byDepth.length; l++) {
                byDepth[l] = depths.get(l).toFloatArray();
            }
            final float[] logits = new float[batch.size() * labels];
            final int[] layers = new int[batch.size()];
            for (int r = 0; r < batch.size(); r++) {
                final int layer = policy.exitLayer(byDepth, r, labels);
                System.arraycopy(byDepth[layer], r * labels, logits, r * labels, labels);
                layers[r] = layer + 1;
            }
            return new Exited(logits, layers);
        }
    }

    @Override
    public void close() {
        encoder.close();
    }
}
