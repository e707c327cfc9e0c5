package dev.streamformer.engine.onnx.internals;

import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;

import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.EncoderBatch;
import dev.streamformer.model.ExitPolicy;
import dev.streamformer.model.ForwardPass;
import dev.streamformer.model.ParameterLayout;

/**
 * The encoder on ONNX Runtime, run layer by layer: an embedding step, one layer step per distinct
 * layer function ({@link EncoderGraph#layerKey}: for an all-shared plan one session serves every
 * depth), and an exit step per distinct exit head. Each weight lives in the one session that uses it. Between steps the
 * hidden states stay in ONNX Runtime's memory (an output tensor is the next step's input).
 *
 * <p>At full depth it computes what the single graph computes; it is what lets a batch stop, or
 * take in new rows, between layers.
 */
public final class LayeredForward implements ForwardPass {

    private final OrtEnvironment env;
    private final OrtSession embedding;
    /** The exit step read after each layer; layers read by the same head share one. */
    private final OrtSession[] heads;
    /** The session of each layer; layers that compute the same function share one. */
    private final OrtSession[] layers;
    private final List<OrtSession> distinct;
    private final List<OrtSession> distinctHeads;
    private final int labels;
    private final AtomicBoolean closed = new AtomicBoolean();

    private LayeredForward(final OrtEnvironment env, final OrtSession embedding, final OrtSession[] layers,
            final List<OrtSession> distinct, final OrtSession[] heads, final List<OrtSession> distinctHeads,
            final int labels) {
        this.env = env;
        this.embedding = embedding;
        this.layers = layers;
        this.distinct = distinct;
        this.heads = heads;
        this.distinctHeads = distinctHeads;
        this.labels = labels;
    }

    /**
     * Builds the steps' graphs from a checkpoint and opens a session on each.
     *
     * @param checkpoint the model
     * @param name the model name recorded in the graphs
     * @param options intra-op threads and weight prepacking, for every session
     * @return the forward pass
     */
    public static LayeredForward of(final Checkpoint checkpoint, final String name, final SessionSettings options) {
        final OrtEnvironment env = OrtEnvironment.getEnvironment();
        final List<OrtSession> opened = new ArrayList<>();
        try (OrtSession.SessionOptions o = options.toOptions()) {
            final OrtSession embedding = open(env, o, opened, EncoderGraph.embedding(checkpoint, name).toByteArray());
            final int n = checkpoint.config().numLayers();
            final OrtSession[] layers = new OrtSession[n];
            final Map<String, OrtSession> byKey = new LinkedHashMap<>();
            for (int layer = 0; layer < n; layer++) {
                final int l = layer;
                layers[layer] = byKey.computeIfAbsent(EncoderGraph.layerKey(checkpoint.config(), layer),
                        k -> open(env, o, opened, EncoderGraph.layer(checkpoint, name, l).toByteArray()));
            }
            final OrtSession[] heads = new OrtSession[n];
            final Map<String, OrtSession> byPrefix = new LinkedHashMap<>();
            for (int layer = 0; layer < n; layer++) {
                final int l = layer;
                heads[layer] = byPrefix.computeIfAbsent(ParameterLayout.classifierPrefix(checkpoint.config(), layer),
                        k -> open(env, o, opened, EncoderGraph.head(checkpoint, name, l).toByteArray()));
            }
            return new LayeredForward(env, embedding, layers, List.copyOf(byKey.values()), heads,
                    List.copyOf(byPrefix.values()), checkpoint.config().numLabels());
        } catch (OrtException | RuntimeException e) {
            opened.forEach(LayeredForward::closeQuietly);
            throw new IllegalStateException("ONNX Runtime refused a step of the layered encoder: " + e.getMessage(), e);
        }
    }

    private static OrtSession open(final OrtEnvironment env, final OrtSession.SessionOptions options,
            final List<OrtSession> opened, final byte[] graph) {
        try {
            final OrtSession s = env.createSession(graph, options);
            opened.add(s);
            return s;
        } catch (OrtException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    /** @return the number of layer sessions: the distinct layer functions of the plan */
    public int layerSessions() {
        return distinct.size();
    }

    @Override
    public float[] logits(final EncoderBatch batch) {
        return run(batch, false)[0];
    }

    /**
     * Runs a batch through every layer and reads every exit: what each record would answer had it
     * stopped after each layer.
     *
     * @param batch the padded batch
     * @return per layer (0-based), B x C logits, row-major
     */
    public float[][] logitsAtEveryDepth(final EncoderBatch batch) {
        return run(batch, true);
    }

    /**
     * What each record of a batch answers when it leaves early: after each layer the exit of every record
     * still running is read, the records the policy lets go leave, and the next layer runs on the rest
     * alone (the batch shrinks as records leave).
     *
     * @param batch the padded batch
     * @param policy when a record leaves
     * @return each record's logits and the layers it ran
     */
    @Override
    public Exited logitsWithExits(final EncoderBatch batch, final ExitPolicy policy) {
        return logitsWithExits(batch, policy, Leaving.NOBODY);
    }

    /**
     * {@link #logitsWithExits(EncoderBatch, ExitPolicy)}, telling of the records that leave after a
     * layer before the next layer runs.
     *
     * @param batch the padded batch
     * @param policy when a record leaves
     * @param leaving told of each record as it leaves
     * @return each record's logits and the layers it ran
     */
    @Override
    public Exited logitsWithExits(final EncoderBatch batch, final ExitPolicy policy, final Leaving leaving) {
        final int b = batch.size();
        final float[] logits = new float[b * labels];
        final int[] ran = new int[b];
        final int[] previous = new int[b];
        final int[] agreeing = new int[b];
        java.util.Arrays.fill(previous, -1);
        final Map<String, OnnxTensor> inputs = inputs(batch);
        final List<AutoCloseable> open = new ArrayList<>();
        try {
            final OrtSession.Result embedded = embedding.run(inputs);
            open.add(embedded);
            OnnxTensor maskBias = (OnnxTensor) embedded.get(EncoderGraph.MASK_BIAS).orElseThrow();
            OnnxTensor hidden = (OnnxTensor) embedded.get(EncoderGraph.HIDDEN).orElseThrow();
            int[] rows = java.util.stream.IntStream.range(0, b).toArray();
            for (int layer = 0; layer < layers.length && rows.length > 0; layer++) {
                final OrtSession.Result next = layers[layer].run(Map.of(EncoderGraph.HIDDEN, hidden,
                        EncoderGraph.MASK_BIAS, maskBias));
                open.add(next);
                hidden = (OnnxTensor) next.get(EncoderGraph.HIDDEN_OUT).orElseThrow();
                final boolean last = layer == layers.length - 1;
                if (!last && policy.kind() == ExitPolicy.Kind.NONE) {
                    continue;
                }
                final float[] exit = exit(layer, hidden, rows.length);
                final List<Integer> staying = new ArrayList<>(rows.length);
                for (int i = 0; i < rows.length; i++) {
                    final int r = rows[i];
                    if (last || policy.decided(exit, i, labels, previous[r], agreeing[r])) {
                        System.arraycopy(exit, i * labels, logits, r * labels, labels);
                        ran[r] = layer + 1;
                        leaving.left(r, java.util.Arrays.copyOfRange(exit, i * labels, i * labels + labels), layer + 1);
                    } else {
                        final int label = ExitPolicy.argmax(exit, i, labels);
                        agreeing[r] = label == previous[r] ? agreeing[r] + 1 : 1;
                        previous[r] = label;
                        staying.add(i);
                    }
                }
                if (!last && staying.size() < rows.length && !staying.isEmpty()) {
                    hidden = keepRows(hidden, staying, open);
                    maskBias = keepRows(maskBias, staying, open);
                }
                final int[] kept = new int[staying.size()];
                for (int i = 0; i < kept.length; i++) {
                    kept[i] = rows[staying.get(i)];
                }
                rows = kept;
            }
            return new Exited(logits, ran);
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime failed on a batch of " + batch.size() + " x "
                    + batch.length() + " tokens: " + e.getMessage(), e);
        } finally {
            for (final AutoCloseable c : open) {
                try {
                    c.close();
                } catch (Exception e) {
                    // closing native memory does not fail in practice; the batch's answer stands
                }
            }
            inputs.values().forEach(OnnxTensor::close);
        }
    }

    /**
     * Early exit with depth-wise refill: at most {@code width} records run at once. When records leave,
     * the next records of the pool take their rows and run layer 1 beside rows at deeper layers. Rows
     * that multiply by the same weights share one product: for an all-shared plan every running row,
     * whatever its depth; otherwise the rows are grouped by the layer function their depth uses (cycle-3:
     * layers 1 and 4 together). The exits are read the same way: one run for shared heads, one per head
     * present for per-layer heads. The policy none runs the pool as consecutive batches
     * ({@link ForwardPass#logitsWithRefill}).
     *
     * @param pool the padded records, in arrival order
     * @param width the rows in one product
     * @param policy when a record leaves
     * @return each record's logits and the layers it ran
     */
    @Override
    public Exited logitsWithRefill(final EncoderBatch pool, final int width, final ExitPolicy policy) {
        return logitsWithRefill(pool, width, policy, Leaving.NOBODY);
    }

    /**
     * {@link #logitsWithRefill(EncoderBatch, int, ExitPolicy)}, telling of the records that leave after a
     * step before the next step runs.
     *
     * @param pool the padded records, in arrival order
     * @param width the rows in one product
     * @param policy when a record leaves
     * @param leaving told of each record (its row in the pool) as it leaves
     * @return each record's logits and the layers it ran
     */
    @Override
    public Exited logitsWithRefill(final EncoderBatch pool, final int width, final ExitPolicy policy,
            final Leaving leaving) {
        if (policy.kind() == ExitPolicy.Kind.NONE || width >= pool.size()) {
            return ForwardPass.super.logitsWithRefill(pool, width, policy, leaving);
        }
        final Map<String, OnnxTensor> inputs = inputs(pool);
        try (OrtSession.Result embedded = embedding.run(inputs)) {
            final float[] hidden = floats(embedded, EncoderGraph.HIDDEN);
            final float[] maskBias = floats(embedded, EncoderGraph.MASK_BIAS);
            return new Refill(pool.size(), pool.length(), hidden.length / (pool.size() * pool.length()), width)
                    .run(hidden, maskBias, policy, leaving);
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime failed on a pool of " + pool.size() + " x " + pool.length()
                    + " tokens: " + e.getMessage(), e);
        } finally {
            inputs.values().forEach(OnnxTensor::close);
        }
    }

    private static float[] floats(final OrtSession.Result result, final String name) {
        final FloatBuffer b = ((OnnxTensor) result.get(name).orElseThrow()).getFloatBuffer();
        final float[] values = new float[b.remaining()];
        b.get(values);
        return values;
    }

    /** The rows running at once: each slot holds one record's hidden state, mask bias and depth. */
    private final class Refill {
        private final int records;
        private final int length;
        private final int hiddenSize;
        private final int width;
        private final float[] state;
        private final float[] mask;
        private final int[] record;
        private final int[] depth;

        Refill(final int records, final int length, final int hiddenSize, final int width) {
            this.records = records;
            this.length = length;
            this.hiddenSize = hiddenSize;
            this.width = width;
            this.state = new float[width * length * hiddenSize];
            this.mask = new float[width * length];
            this.record = new int[width];
            this.depth = new int[width];
        }

        Exited run(final float[] embedded, final float[] maskBias, final ExitPolicy policy, final Leaving leaving)
                throws OrtException {
            final int rowSize = length * hiddenSize;
            final float[] logits = new float[records * labels];
            final int[] ran = new int[records];
            final int[] previous = new int[records];
            final int[] agreeing = new int[records];
            java.util.Arrays.fill(previous, -1);
            int running = 0;
            int next = 0;
            while (running > 0 || next < records) {
                for (; running < width && next < records; running++, next++) {
                    System.arraycopy(embedded, next * rowSize, state, running * rowSize, rowSize);
                    System.arraycopy(maskBias, next * length, mask, running * length, length);
                    record[running] = next;
                    depth[running] = 0;
                }
                final float[] exit = step(running);
                int kept = 0;
                for (int slot = 0; slot < running; slot++) {
                    final int r = record[slot];
                    if (depth[slot] == layers.length - 1 || policy.decided(exit, slot, labels, previous[r], agreeing[r])) {
                        System.arraycopy(exit, slot * labels, logits, r * labels, labels);
                        ran[r] = depth[slot] + 1;
                        leaving.left(r, java.util.Arrays.copyOfRange(exit, slot * labels, slot * labels + labels),
                                ran[r]);
                        continue;
                    }
                    final int label = ExitPolicy.argmax(exit, slot, labels);
                    agreeing[r] = label == previous[r] ? agreeing[r] + 1 : 1;
                    previous[r] = label;
                    if (kept != slot) {
                        System.arraycopy(state, slot * rowSize, state, kept * rowSize, rowSize);
                        System.arraycopy(mask, slot * length, mask, kept * length, length);
                        record[kept] = r;
                    }
                    depth[kept++] = depth[slot] + 1;
                }
                running = kept;
            }
            return new Exited(logits, ran);
        }

        /**
         * Runs the next layer of the first {@code rows} slots, one product per layer function present
         * (one for an all-shared plan, whatever the slots' depths), keeps the outputs in the slots, and
         * reads every slot's exit, one run per exit head present.
         */
        private float[] step(final int rows) throws OrtException {
            final List<AutoCloseable> open = new ArrayList<>();
            try {
                final Map<OrtSession, List<Integer>> byLayer = bySession(rows, layers);
                OnnxTensor whole = null;
                for (final Map.Entry<OrtSession, List<Integer>> group : byLayer.entrySet()) {
                    final List<Integer> slots = group.getValue();
                    final OrtSession.Result out = group.getKey().run(Map.of(
                            EncoderGraph.HIDDEN, gather(state, slots, length * hiddenSize, open, length, hiddenSize),
                            EncoderGraph.MASK_BIAS, gather(mask, slots, length, open, 1, 1, length)));
                    open.add(out);
                    final OnnxTensor after = (OnnxTensor) out.get(EncoderGraph.HIDDEN_OUT).orElseThrow();
                    scatter(after.getFloatBuffer(), slots, state, length * hiddenSize);
                    whole = slots.size() == rows ? after : null;
                }
                final float[] exit = new float[rows * labels];
                final Map<OrtSession, List<Integer>> byHead = bySession(rows, heads);
                if (byHead.size() == 1 && whole != null) {
                    System.arraycopy(exit(depth[0], whole, rows), 0, exit, 0, exit.length);
                    return exit;
                }
                for (final List<Integer> slots : byHead.values()) {
                    final float[] part = exit(depth[slots.get(0)],
                            gather(state, slots, length * hiddenSize, open, length, hiddenSize), slots.size());
                    scatter(FloatBuffer.wrap(part), slots, exit, labels);
                }
                return exit;
            } finally {
                for (final AutoCloseable c : open) {
                    try {
                        c.close();
                    } catch (Exception e) {
                        // closing native memory does not fail in practice; the step's answer stands
                    }
                }
            }
        }

        /** The first {@code rows} slots grouped by the session their depth uses, in slot order. */
        private Map<OrtSession, List<Integer>> bySession(final int rows, final OrtSession[] byDepth) {
            final Map<OrtSession, List<Integer>> groups = new LinkedHashMap<>();
            for (int slot = 0; slot < rows; slot++) {
                groups.computeIfAbsent(byDepth[depth[slot]], k -> new ArrayList<>()).add(slot);
            }
            return groups;
        }

        /** The given slots' rows of {@code from} as one tensor of shape [slots, dims...]. */
        private OnnxTensor gather(final float[] from, final List<Integer> slots, final int rowSize,
                final List<AutoCloseable> open, final long... dims) throws OrtException {
            final FloatBuffer rows;
            if (slots.get(slots.size() - 1) == slots.size() - 1) {
                rows = FloatBuffer.wrap(from, 0, slots.size() * rowSize);
            } else {
                rows = FloatBuffer.allocate(slots.size() * rowSize);
                slots.forEach(slot -> rows.put(from, slot * rowSize, rowSize));
                rows.flip();
            }
            final long[] shape = new long[dims.length + 1];
            shape[0] = slots.size();
            System.arraycopy(dims, 0, shape, 1, dims.length);
            final OnnxTensor t = OnnxTensor.createTensor(env, rows, shape);
            open.add(t);
            return t;
        }

        /** Writes consecutive rows of {@code rows} back to the given slots of {@code to}. */
        private static void scatter(final FloatBuffer rows, final List<Integer> slots, final float[] to, final int rowSize) {
            for (final int slot : slots) {
                rows.get(to, slot * rowSize, rowSize);
            }
        }
    }

    /** A tensor of the same shape but only the given rows of its first axis (copied in their order). */
    private OnnxTensor keepRows(final OnnxTensor t, final List<Integer> rows, final List<AutoCloseable> open)
            throws OrtException {
        final long[] shape = t.getInfo().getShape();
        final int rowSize = Math.toIntExact(java.util.Arrays.stream(shape).skip(1).reduce(1, (x, y) -> x * y));
        final FloatBuffer all = t.getFloatBuffer();
        final FloatBuffer kept = FloatBuffer.allocate(rows.size() * rowSize);
        final float[] row = new float[rowSize];
        for (final int r : rows) {
            all.position(r * rowSize);
            all.get(row);
            kept.put(row);
        }
        kept.flip();
        final long[] keptShape = shape.clone();
        keptShape[0] = rows.size();
        final OnnxTensor out = OnnxTensor.createTensor(env, kept, keptShape);
        open.add(out);
        return out;
    }

    private Map<String, OnnxTensor> inputs(final EncoderBatch batch) {
        final long[] shape = {batch.size(), batch.length()};
        final Map<String, OnnxTensor> inputs = new HashMap<>(4);
        try {
            inputs.put(EncoderGraph.INPUTS.get(0), OnnxTensor.createTensor(env, LongBuffer.wrap(batch.tokenIds()), shape));
            final float[] m = batch.mask();
            final long[] mask = new long[m.length];
            for (int i = 0; i < m.length; i++) {
                mask[i] = (long) m[i];
            }
            inputs.put(EncoderGraph.INPUTS.get(1), OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape));
            inputs.put(EncoderGraph.INPUTS.get(2), OnnxTensor.createTensor(env, LongBuffer.wrap(batch.segmentIds()),
                    shape));
            return inputs;
        } catch (OrtException e) {
            inputs.values().forEach(OnnxTensor::close);
            throw new IllegalStateException("ONNX Runtime refused the batch's inputs: " + e.getMessage(), e);
        }
    }

    private float[][] run(final EncoderBatch batch, final boolean everyDepth) {
        final Map<String, OnnxTensor> inputs = inputs(batch);
        final List<OrtSession.Result> open = new ArrayList<>();
        final float[][] out = new float[everyDepth ? layers.length : 1][];
        try {
            final OrtSession.Result embedded = embedding.run(inputs);
            open.add(embedded);
            final OnnxTensor maskBias = (OnnxTensor) embedded.get(EncoderGraph.MASK_BIAS).orElseThrow();
            OnnxTensor hidden = (OnnxTensor) embedded.get(EncoderGraph.HIDDEN).orElseThrow();
            for (int layer = 0; layer < layers.length; layer++) {
                final OrtSession.Result next = layers[layer].run(Map.of(EncoderGraph.HIDDEN, hidden,
                        EncoderGraph.MASK_BIAS, maskBias));
                open.add(next);
                hidden = (OnnxTensor) next.get(EncoderGraph.HIDDEN_OUT).orElseThrow();
                if (open.size() > 2) {
                    // The layer before: its output was this layer's input (the embedding step's result
                    // stays open for the mask bias).
                    open.remove(1).close();
                }
                if (everyDepth || layer == layers.length - 1) {
                    out[everyDepth ? layer : 0] = exit(layer, hidden, batch.size());
                }
            }
            return out;
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime failed on a batch of " + batch.size() + " x "
                    + batch.length() + " tokens: " + e.getMessage(), e);
        } finally {
            open.forEach(OrtSession.Result::close);
            inputs.values().forEach(OnnxTensor::close);
        }
    }

    private float[] exit(final int layer, final OnnxTensor hidden, final int rows) throws OrtException {
        try (OrtSession.Result result = heads[layer].run(Map.of(EncoderGraph.HIDDEN, hidden))) {
            final FloatBuffer logits = ((OnnxTensor) result.get(EncoderGraph.OUTPUT).orElseThrow()).getFloatBuffer();
            final float[] values = new float[rows * labels];
            logits.get(values);
            return values;
        }
    }

    @Override
    public void close() {
        if (closed.getAndSet(true)) {
            return;
        }
        closeQuietly(embedding);
        distinct.forEach(LayeredForward::closeQuietly);
        distinctHeads.forEach(LayeredForward::closeQuietly);
    }

    private static void closeQuietly(final OrtSession s) {
        try {
            s.close();
        } catch (OrtException e) {
            throw new IllegalStateException("Cannot close an ONNX Runtime session: " + e.getMessage(), e);
        }
    }
}
