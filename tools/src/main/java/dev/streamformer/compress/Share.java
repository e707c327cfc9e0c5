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
        final ModelConfig from = source.config();
        if (from.numKeyValueHeads() % kvHeads != 0) {
            throw new IllegalArgumentException("--kv-heads " + kvHeads + " must divide the model's "
                    + from.numKeyValueHeads() + " key/value heads");
        }
        final ModelConfig to = from.withPlan(plan).withKeyValueHeads(kvHeads);
        final int layers = from.numLayers();
        final int[] fromAttention = from.plan().attentionMap(layers);
        final int[] fromFfn = from.plan().ffnMap(layers);
        final int[] toAttention = plan.attentionMap(layers);
        final int[] toFfn = plan.ffnMap(layers);
        final Map<String, Tensor> out = new LinkedHashMap<>();
        for (final ParameterSpec spec : ParameterLayout.of(to)) {
            final String name = spec.name();
            final float[] values;
            if (spec.component().startsWith("attention[")) {
                final int set = setOf(spec.component());
                final String suffix = name.substring(ParameterLayout.attentionPrefix(to, set).length());
                values = average(source, layersOf(toAttention, set), fromAttention,
                        s -> ParameterLayout.attentionPrefix(from, s) + suffix);
                out.put(name, Tensor.ofFloats(spec.shape(), isKeyOrValue(suffix)
                        ? mergeHeads(values, from.numKeyValueHeads(), kvHeads) : values));
            } else if (spec.component().startsWith("ffn[")) {
                final int set = setOf(spec.component());
                final String suffix = name.substring(ParameterLayout.ffnPrefix(to, set).length());
                out.put(name, Tensor.ofFloats(spec.shape(), average(source, layersOf(toFfn, set), fromFfn,
                        s -> ParameterLayout.ffnPrefix(from, s) + suffix)));
            } else {
                out.put(name, Tensor.ofFloats(spec.shape(), source.floats(name)));
            }
        }
        return new Checkpoint(to, out);
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

    private static float[] average(final Checkpoint source, final List<Integer> layers, final int[] sourceMap,
            final java.util.function.IntFunction<String> nameOfSet) {
        float[] sum = null;
        for (final int layer : layers) {
            final float[] v = source.floats(nameOfSet.apply(sourceMap[layer]));
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
