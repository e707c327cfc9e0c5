package dev.streamformer.model;

/**
 * A forward pass that hands every call to another. Extend it to instrument a pass or inject faults
 * ({@link InferenceModel#wrapped}): override the calls to intercept, and every other call (early exit,
 * depth-wise refill, close) still reaches the engine. A wrapper written against {@link ForwardPass}
 * itself would inherit the interface's defaults instead, which refuse early exit.
 */
public abstract class DelegatingForwardPass implements ForwardPass {

    /** The pass every call goes to. */
    protected final ForwardPass delegate;

    /** @param delegate the pass every call goes to; closing this pass closes it */
    protected DelegatingForwardPass(final ForwardPass delegate) {
        this.delegate = delegate;
    }

    @Override
    public float[] logits(final EncoderBatch batch) {
        return delegate.logits(batch);
    }

    @Override
    public Exited logitsWithExits(final EncoderBatch batch, final ExitPolicy policy) {
        return delegate.logitsWithExits(batch, policy);
    }

    @Override
    public Exited logitsWithExits(final EncoderBatch batch, final ExitPolicy policy, final Leaving leaving) {
        return delegate.logitsWithExits(batch, policy, leaving);
    }

    @Override
    public Exited logitsWithRefill(final EncoderBatch pool, final int width, final ExitPolicy policy) {
        return delegate.logitsWithRefill(pool, width, policy);
    }

    @Override
    public Exited logitsWithRefill(final EncoderBatch pool, final int width, final ExitPolicy policy,
            final Leaving leaving) {
        return delegate.logitsWithRefill(pool, width, policy, leaving);
    }

    @Override
    public void close() {
        delegate.close();
    }
}
