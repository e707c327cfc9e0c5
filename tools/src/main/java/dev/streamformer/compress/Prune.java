package dev.streamformer.compress;

import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.IntStream;

import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.ModelConfig;
import dev.streamformer.model.ParameterLayout;
import dev.streamformer.model.ParameterSpec;
import dev.streamformer.model.SafeTensors.Tensor;

/**
 * Structured pruning: removes whole feed-forward neurons and attention heads, shrinking the
 * tensors so the model computes less. Each unit's importance is the product of the L2 norms of
 * the weights that read into it and write out of it; every parameter set keeps its most important
 * units (the same number in every set, so the architecture stays uniform). A unit whose weights
 * are all zero has importance 0 and is pruned first without changing any output.
 */
public final class Prune {

    private Prune() {
    }

    /**
     * @param source the model (one key/value head per query head when heads are pruned)
     * @param keepHeads attention heads to keep per set
     * @param keepNeurons feed-forward neurons to keep per set
     * @return the pruned model
     */
    public static Checkpoint prune(final Checkpoint source, final int keepHeads, final int keepNeurons) {
        final ModelConfig from = source.config();
        if (keepHeads < 1 || keepHeads > from.numHeads() || keepNeurons < 1 || keepNeurons > from.intermediateSize()) {
            throw new IllegalArgumentException("keep 1.." + from.numHeads() + " heads and 1.." + from.intermediateSize()
                    + " neurons, got " + keepHeads + " and " + keepNeurons);
        }
        if (from.relaxRank() > 0) {
            throw new IllegalArgumentException("pruning a relaxed model (rank " + from.relaxRank() + " deltas) is not"
                    + " supported: prune the model first, then relax it with `model share --relax-rank`");
        }
        if (keepHeads < from.numHeads() && from.numKeyValueHeads() != from.numHeads()) {
            throw new IllegalArgumentException("pruning heads of a model with grouped key/value heads is not"
                    + " supported: prune neurons only (keep all " + from.numHeads() + " heads)");
        }
        final ModelConfig to = from.withWidths(keepHeads, keepHeads == from.numHeads() ? from.numKeyValueHeads()
                : keepHeads, keepNeurons);
        final Map<String, Tensor> out = new LinkedHashMap<>();
        for (final ParameterSpec spec : ParameterLayout.of(to)) {
            if (!spec.component().startsWith("attention[") && !spec.component().startsWith("ffn[")) {
                out.put(spec.name(), Tensor.ofFloats(spec.shape(), source.floats(spec.name())));
            }
        }
        final int h = from.hiddenSize();
        final int d = from.headSize();
        for (int s = 0; s < from.attentionSets(); s++) {
            final String p = ParameterLayout.attentionPrefix(from, s) + "attention.";
            final String q = ParameterLayout.attentionPrefix(to, s) + "attention.";
            final float[] query = source.floats(p + "query.weight");
            final float[] key = source.floats(p + "key.weight");
            final float[] value = source.floats(p + "value.weight");
            final float[] dense = source.floats(p + "dense.weight");
            final int heads = from.numHeads();
            final boolean prunesHeads = keepHeads < heads;
            final double[] importance = new double[heads];
            for (int head = 0; head < heads; head++) {
                final double in = norm(query, head * d * h, d * h) + norm(key, head * d * h, d * h)
                        + norm(value, head * d * h, d * h);
                importance[head] = in * columnNorm(dense, h, from.attentionSize(), head * d, d);
            }
            final int[] keptHeads = top(importance, keepHeads);
            final int[] rows = IntStream.of(keptHeads).flatMap(head -> IntStream.range(head * d, head * d + d)).toArray();
            final int[] kvRows = prunesHeads ? rows : IntStream.range(0, from.numKeyValueHeads() * d).toArray();
            out.put(q + "query.weight", Tensor.ofFloats(new long[] {rows.length, h}, Tensors.rows(query, h, rows)));
            out.put(q + "query.bias", Tensor.ofFloats(new long[] {rows.length}, Tensors.rows(source.floats(p + "query.bias"), 1, rows)));
            out.put(q + "key.weight", Tensor.ofFloats(new long[] {kvRows.length, h}, Tensors.rows(key, h, kvRows)));
            out.put(q + "key.bias", Tensor.ofFloats(new long[] {kvRows.length}, Tensors.rows(source.floats(p + "key.bias"), 1, kvRows)));
            out.put(q + "value.weight", Tensor.ofFloats(new long[] {kvRows.length, h}, Tensors.rows(value, h, kvRows)));
            out.put(q + "value.bias", Tensor.ofFloats(new long[] {kvRows.length}, Tensors.rows(source.floats(p + "value.bias"), 1, kvRows)));
            out.put(q + "dense.weight", Tensor.ofFloats(new long[] {h, rows.length},
                    Tensors.columns(dense, h, from.attentionSize(), rows)));
            out.put(q + "dense.bias", Tensor.ofFloats(new long[] {h}, source.floats(p + "dense.bias")));
            out.put(q + "LayerNorm.weight", Tensor.ofFloats(new long[] {h}, source.floats(p + "LayerNorm.weight")));
            out.put(q + "LayerNorm.bias", Tensor.ofFloats(new long[] {h}, source.floats(p + "LayerNorm.bias")));
        }
        final int f = from.intermediateSize();
        for (int s = 0; s < from.ffnSets(); s++) {
            final String p = ParameterLayout.ffnPrefix(from, s);
            final String q = ParameterLayout.ffnPrefix(to, s);
            final float[] in = source.floats(p + "ffn.weight");
            final float[] bias = source.floats(p + "ffn.bias");
            final float[] outW = source.floats(p + "ffn_output.weight");
            final double[] importance = new double[f];
            for (int j = 0; j < f; j++) {
                importance[j] = (norm(in, j * h, h) + Math.abs(bias[j])) * columnNorm(outW, h, f, j, 1);
            }
            final int[] kept = top(importance, keepNeurons);
            out.put(q + "ffn.weight", Tensor.ofFloats(new long[] {kept.length, h}, Tensors.rows(in, h, kept)));
            out.put(q + "ffn.bias", Tensor.ofFloats(new long[] {kept.length}, Tensors.rows(bias, 1, kept)));
            out.put(q + "ffn_output.weight", Tensor.ofFloats(new long[] {h, kept.length}, Tensors.columns(outW, h, f, kept)));
            for (final String n : new String[] {"ffn_output.bias", "full_layer_layer_norm.weight",
                "full_layer_layer_norm.bias"}) {
                out.put(q + n, Tensor.ofFloats(new long[] {h}, source.floats(p + n)));
            }
        }
        return new Checkpoint(to, out);
    }

    /** Indices of the k largest values, in increasing index order. */
    private static int[] top(final double[] importance, final int k) {
        return IntStream.range(0, importance.length).boxed()
                .sorted(Comparator.comparingDouble((Integer i) -> -importance[i]).thenComparingInt(i -> i))
                .limit(k).mapToInt(Integer::intValue).sorted().toArray();
    }

    private static double norm(final float[] v, final int from, final int length) {
        double s = 0;
        for (int i = from; i < from + length; i++) {
            s += (double) v[i] * v[i];
        }
        return Math.sqrt(s);
    }

    /** Norm of columns [from, from + width) of a [rows, cols] matrix. */
    private static double columnNorm(final float[] m, final int rows, final int cols, final int from, final int width) {
        double s = 0;
        for (int r = 0; r < rows; r++) {
            for (int c = from; c < from + width; c++) {
                s += (double) m[r * cols + c] * m[r * cols + c];
            }
        }
        return Math.sqrt(s);
    }
}
