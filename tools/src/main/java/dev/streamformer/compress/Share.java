package dev.streamformer.compress;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.ModelConfig;
import dev.streamformer.model.ParameterLayout;
import dev.streamformer.model.ParameterSpec;
import dev.streamformer.model.SafeTensors.Tensor;
import dev.streamformer.model.SharingPlan;

/**
 * Converts a model to another sharing plan: every parameter set of the new plan is the average of
 * the sets its layers used before. Key and value heads are merged into fewer groups by averaging
 * the heads of each group (Ainslie et al. 2023). Layers that already hold identical weights keep
 * their outputs exactly.
 *
 * <p>Relaxed sharing (rank r &gt; 0; Bae et al. 2025, Relaxed Recursive Transformers) then gives every
 * layer of a shared set its own rank-r delta on each weight matrix, initialised by the truncated SVD
 * of that layer's difference from the shared average: W_layer ~ W_shared + B A. At full rank
 * (r = min(rows, columns)) the deltas are exact and the model computes what the source computed. A
 * relaxed source is read as its per-layer weights (shared matrix plus delta).
 */
public final class Share {

    private Share() {
    }

    /**
     * @param source the model, any plan
     * @param plan the new plan
     * @param kvHeads key/value heads of the new model; must divide the source's
     * @return the converted model
     */
    public static Checkpoint convert(final Checkpoint source, final SharingPlan plan, final int kvHeads) {
        return convert(source, plan, kvHeads, 0);
    }

    /**
     * @param source the model, any plan
     * @param plan the new plan
     * @param kvHeads key/value heads of the new model; must divide the source's
     * @param relaxRank r of the per-layer deltas (0 = plain sharing); capped at min(rows, columns)
     * @return the converted model
     */
    public static Checkpoint convert(final Checkpoint source, final SharingPlan plan, final int kvHeads,
            final int relaxRank) {
        final ModelConfig from = source.config();
        if (from.numKeyValueHeads() % kvHeads != 0) {
            throw new IllegalArgumentException("--kv-heads " + kvHeads + " must divide the model's "
                    + from.numKeyValueHeads() + " key/value heads");
        }
        final ModelConfig to = from.withPlan(plan).withKeyValueHeads(kvHeads).withRelaxRank(relaxRank);
        final int layers = from.numLayers();
        final int[] toAttention = plan.attentionMap(layers);
        final int[] toFfn = plan.ffnMap(layers);
        final Map<String, Tensor> out = new LinkedHashMap<>();
        for (final ParameterSpec spec : ParameterLayout.of(to)) {
            final String name = spec.name();
            final float[] values;
            if (spec.component().startsWith("attention[")) {
                final int set = setOf(spec.component());
                final String suffix = name.substring(ParameterLayout.attentionPrefix(to, set).length());
                values = average(layersOf(toAttention, set), layer -> layerTensor(source, layer, suffix, true));
                out.put(name, Tensor.ofFloats(spec.shape(), isKeyOrValue(suffix)
                        ? mergeHeads(values, from.numKeyValueHeads(), kvHeads) : values));
            } else if (spec.component().startsWith("ffn[")) {
                final int set = setOf(spec.component());
                final String suffix = name.substring(ParameterLayout.ffnPrefix(to, set).length());
                out.put(name, Tensor.ofFloats(spec.shape(), average(layersOf(toFfn, set),
                        layer -> layerTensor(source, layer, suffix, false))));
            } else if (spec.component().startsWith("delta[")) {
                continue;
            } else {
                out.put(name, Tensor.ofFloats(spec.shape(), source.floats(name)));
            }
        }
        for (int layer = 0; layer < layers; layer++) {
            relax(source, to, layer, kvHeads, out);
        }
        return new Checkpoint(to, out);
    }

    /**
     * The deltas of one layer: for each matrix the truncated SVD of its source weight minus the new
     * shared one, for each bias and LayerNorm vector the whole difference.
     */
    private static void relax(final Checkpoint source, final ModelConfig to, final int layer, final int kvHeads,
            final Map<String, Tensor> out) {
        final String delta = ParameterLayout.deltaPrefix(layer);
        for (final String matrix : ParameterLayout.relaxedMatrices(to, layer)) {
            final float[] difference = difference(source, to, layer, matrix + ".weight", kvHeads, out);
            final long[] shape = ParameterLayout.matrixShape(to, matrix);
            final int rows = Math.toIntExact(shape[0]);
            final int columns = Math.toIntExact(shape[1]);
            final int rank = ParameterLayout.deltaRank(to, rows, columns);
            final LowRank.Factors f = LowRank.truncated(difference, rows, columns, rank);
            out.put(delta + matrix + ParameterLayout.DELTA_A, Tensor.ofFloats(new long[] {rank, columns}, f.a()));
            out.put(delta + matrix + ParameterLayout.DELTA_B, Tensor.ofFloats(new long[] {rows, rank}, f.b()));
        }
        for (final String vector : ParameterLayout.relaxedVectors(to, layer)) {
            final float[] difference = difference(source, to, layer, vector, kvHeads, out);
            out.put(delta + vector, Tensor.ofFloats(new long[] {difference.length}, difference));
        }
    }

    /** A layer's source tensor (key/value heads merged as in the base) minus the new shared one. */
    private static float[] difference(final Checkpoint source, final ModelConfig to, final int layer,
            final String suffix, final int kvHeads, final Map<String, Tensor> out) {
        final boolean isAttention = suffix.startsWith("attention.");
        float[] own = layerTensor(source, layer, suffix, isAttention);
        if (isKeyOrValue(suffix)) {
            own = mergeHeads(own, source.config().numKeyValueHeads(), kvHeads);
        }
        final int set = isAttention ? to.plan().attentionMap(to.numLayers())[layer]
                : to.plan().ffnMap(to.numLayers())[layer];
        final float[] base = out.get((isAttention ? ParameterLayout.attentionPrefix(to, set)
                : ParameterLayout.ffnPrefix(to, set)) + suffix).toFloats();
        final float[] difference = new float[own.length];
        for (int i = 0; i < own.length; i++) {
            difference[i] = own[i] - base[i];
        }
        return difference;
    }

    /**
     * What a layer of the source uses for a tensor of its attention or feed-forward set: the set's
     * tensor, plus the layer's delta (B A for a matrix, the difference for a vector) when the source
     * is relaxed.
     */
    static float[] layerTensor(final Checkpoint source, final int layer, final String suffix,
            final boolean isAttention) {
        final ModelConfig c = source.config();
        final int set = isAttention ? c.plan().attentionMap(c.numLayers())[layer] : c.plan().ffnMap(c.numLayers())[layer];
        final String prefix = isAttention ? ParameterLayout.attentionPrefix(c, set) : ParameterLayout.ffnPrefix(c, set);
        final float[] values = source.floats(prefix + suffix).clone();
        final String delta = ParameterLayout.deltaPrefix(layer);
        if (source.tensors().containsKey(delta + suffix)) {
            final float[] difference = source.floats(delta + suffix);
            for (int i = 0; i < values.length; i++) {
                values[i] += difference[i];
            }
            return values;
        }
        final String matrix = suffix.endsWith(".weight") ? suffix.substring(0, suffix.length() - ".weight".length()) : "";
        if (!source.tensors().containsKey(delta + matrix + ParameterLayout.DELTA_A)) {
            return values;
        }
        final float[] a = source.floats(delta + matrix + ParameterLayout.DELTA_A);
        final float[] b = source.floats(delta + matrix + ParameterLayout.DELTA_B);
        final long[] shape = source.tensors().get(delta + matrix + ParameterLayout.DELTA_A).shape();
        final int rank = Math.toIntExact(shape[0]);
        final int columns = Math.toIntExact(shape[1]);
        final int rows = b.length / rank;
        for (int i = 0; i < rows; i++) {
            for (int k = 0; k < rank; k++) {
                final float bik = b[i * rank + k];
                for (int j = 0; j < columns; j++) {
                    values[i * columns + j] += bik * a[k * columns + j];
                }
            }
        }
        return values;
    }

    private static int setOf(final String component) {
        return component.charAt(component.indexOf('[') + 1) - 'A';
    }

    private static List<Integer> layersOf(final int[] map, final int set) {
        final List<Integer> layers = new ArrayList<>();
        for (int i = 0; i < map.length; i++) {
            if (map[i] == set) {
                layers.add(i);
            }
        }
        return layers;
    }

    private static float[] average(final List<Integer> layers, final java.util.function.IntFunction<float[]> ofLayer) {
        float[] sum = null;
        for (final int layer : layers) {
            final float[] v = ofLayer.apply(layer);
            if (sum == null) {
                sum = v.clone();
            } else {
                for (int i = 0; i < v.length; i++) {
                    sum[i] += v[i];
                }
            }
        }
        if (sum == null) {
            throw new IllegalStateException("a parameter set that no layer uses");
        }
        if (layers.size() > 1) {
            for (int i = 0; i < sum.length; i++) {
                sum[i] /= layers.size();
            }
        }
        return sum;
    }

    private static boolean isKeyOrValue(final String suffix) {
        return suffix.startsWith("attention.key.") || suffix.startsWith("attention.value.");
    }

    /** Averages groups of consecutive heads: [G_from x d, ...] to [G_to x d, ...]. */
    private static float[] mergeHeads(final float[] values, final int fromHeads, final int toHeads) {
        if (fromHeads == toHeads) {
            return values;
        }
        final int perHead = values.length / fromHeads;
        final int group = fromHeads / toHeads;
        final float[] out = new float[toHeads * perHead];
        for (int h = 0; h < fromHeads; h++) {
            final int target = h / group;
            for (int i = 0; i < perHead; i++) {
                out[target * perHead + i] += values[h * perHead + i] / group;
            }
        }
        return out;
    }
}
