package dev.streamformer.model;

/**
 * One engine's forward pass: logits of a validated, padded batch. An implementation holds one copy
 * of the weights and is called by many threads at once; a call's activations never outlive it.
 */
public interface ForwardPass extends AutoCloseable {

    /**
     * Runs a batch.
     *
     * @param batch the padded batch, already validated against the model's limits
     * @return B x C logits, row-major
     */
    float[] logits(EncoderBatch batch);

    /**
     * Runs a batch with early exit: after each layer the records the policy lets go leave with their
     * exit's answer (a model with {@link ExitHeads}).
     *
     * @param batch the padded batch, already validated
     * @param policy when a record leaves
     * @return each record's logits and the layers it ran
     * @throws UnsupportedOperationException when this pass runs the encoder as one graph
     */
    default Exited logitsWithExits(final EncoderBatch batch, final ExitPolicy policy) {
        throw new UnsupportedOperationException("this forward pass runs every layer as one graph; early exit needs a"
                + " model with exit heads (model finetune --exits)");
    }

    /**
     * Runs a batch with early exit and says of each record as soon as it leaves. A layer-by-layer pass
     * tells the records that leave after layer k before it runs layer k + 1; this default tells every
     * record once the batch is done.
     *
     * @param batch the padded batch, already validated
     * @param policy when a record leaves
     * @param leaving told of each record as it leaves
     * @return each record's logits and the layers it ran
     */
    default Exited logitsWithExits(final EncoderBatch batch, final ExitPolicy policy, final Leaving leaving) {
        final Exited exited = logitsWithExits(batch, policy);
        final int labels = exited.logits().length / batch.size();
        for (int row = 0; row < batch.size(); row++) {
            leaving.left(row, java.util.Arrays.copyOfRange(exited.logits(), row * labels, row * labels + labels),
                    exited.layers()[row]);
        }
        return exited;
    }

    /** Told of a record of a batch as it leaves. */
    @FunctionalInterface
    interface Leaving {

        /** Tells of no one. */
        Leaving NOBODY = (row, logits, layers) -> { };

        /**
         * @param row the record's row in the batch
         * @param logits its exit's logits
         * @param layers the layers it ran
         */
        void left(int row, float[] logits, int layers);
    }

    /**
     * Runs a pool of records with early exit, at most {@code width} at once: when records leave, records of
     * the pool that have not started take their rows. A layer-by-layer pass runs the newcomers' first layer
     * in the same matrix product as the deeper rows that use the same weights (depth-wise refill); this
     * default runs the pool as consecutive batches of {@code width} that shrink as records leave. Either
     * way each record answers what it answers alone.
     *
     * @param pool the padded records, in arrival order
     * @param width the rows in one product
     * @param policy when a record leaves
     * @return each record's logits and the layers it ran
     */
    default Exited logitsWithRefill(final EncoderBatch pool, final int width, final ExitPolicy policy) {
        return logitsWithRefill(pool, width, policy, Leaving.NOBODY);
    }

    /**
     * {@link #logitsWithRefill(EncoderBatch, int, ExitPolicy)}, telling of each record as soon as it leaves.
     *
     * @param pool the padded records, in arrival order
     * @param width the rows in one product
     * @param policy when a record leaves
     * @param leaving told of each record (its row in the pool) as it leaves
     * @return each record's logits and the layers it ran
     */
    default Exited logitsWithRefill(final EncoderBatch pool, final int width, final ExitPolicy policy,
            final Leaving leaving) {
        if (width <= 0) {
            throw new IllegalArgumentException("width must be positive, got " + width);
        }
        float[] logits = null;
        final int[] layers = new int[pool.size()];
        for (int from = 0; from < pool.size(); from += width) {
            final int to = Math.min(pool.size(), from + width);
            final int offset = from;
            final Exited part = logitsWithExits(pool.rows(from, to), policy,
                    (row, rowLogits, ran) -> leaving.left(offset + row, rowLogits, ran));
            final int labels = part.logits().length / (to - from);
            if (logits == null) {
                logits = new float[pool.size() * labels];
            }
            System.arraycopy(part.logits(), 0, logits, from * labels, part.logits().length);
            System.arraycopy(part.layers(), 0, layers, from, to - from);
        }
        return new Exited(logits, layers);
    }

    /**
     * What each record of a batch answered when it left.
     *
     * @param logits B x C, each record's exit's logits, row-major
     * @param layers the layers each record ran (1 to L)
     */
    record Exited(float[] logits, int[] layers) {
    }

    /** Frees the weights and the engine's session. */
    @Override
    void close();
}
