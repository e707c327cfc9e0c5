package dev.streamformer.model;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;

/**
 * The forward pass on DJL's PyTorch engine: the {@link SharedEncoder}, whose one copy of the
 * weights every calling thread reads. Each call runs in its own NDManager, closed before it returns.
 */
final class PyTorchForward implements ForwardPass {

    private final SharedEncoder encoder;
    private final int intraOpThreads;

    PyTorchForward(final Checkpoint checkpoint, final int intraOpThreads) {
        this.encoder = SharedEncoder.forInference(checkpoint);
        this.intraOpThreads = intraOpThreads;
    }

    SharedEncoder encoder() {
        return encoder;
    }

    @Override
    public float[] logits(final EncoderBatch batch) {
        IntraOpThreads.apply(intraOpThreads);
        try (NDManager manager = Engine.getEngine(SharedEncoder.ENGINE).newBaseManager()) {
            return encoder.forward(manager, batch, true).logits().toFloatArray();
        }
    }

    @Override
    public void close() {
        encoder.close();
    }
}
