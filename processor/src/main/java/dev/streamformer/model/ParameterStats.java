package dev.streamformer.model;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import com.google.gson.GsonBuilder;

/**
 * Parameter counts of a model: logical parameters (the same architecture with no sharing across
 * layers and a key/value head per query head), unique parameters (what is stored once), their
 * ratio, stored bytes by dtype and a breakdown by component.
 *
 * @param plan the sharing plan, described
 * @param attentionLayout attention set of each layer as letters, for example ABCABC
 * @param ffnLayout feed-forward set of each layer as letters
 * @param logicalParameters parameters as if nothing were shared
 * @param uniqueParameters parameters stored once
 * @param sharingRatio logical / unique
 * @param bytesByDtype stored bytes per dtype (F32 assumed when only a config is known)
 * @param components the breakdown
 */
public record ParameterStats(
        String plan,
        String attentionLayout,
        String ffnLayout,
        long logicalParameters,
        long uniqueParameters,
        double sharingRatio,
        Map<String, Long> bytesByDtype,
        List<Component> components) {

    /**
     * One component of the breakdown.
     *
     * @param name embeddings, projection, attention[X], ffn[X], delta[layer] (relaxed sharing), pooler or
     *     classifier
     * @param parameters its unique parameters
     * @param layers the layers that use it (empty for components outside the layer stack)
     */
    public record Component(String name, long parameters, List<Integer> layers) {
    }

    /**
     * Statistics of a config alone, assuming F32 storage.
     *
     * @param config the architecture
     * @return the statistics
     */
    public static ParameterStats of(final ModelConfig config) {
        long unique = 0;
        for (final ParameterSpec spec : ParameterLayout.of(config)) {
            unique += spec.count();
        }
        return build(config, Map.of("F32", unique * 4));
    }

    /**
     * Statistics of stored weights, with their real dtypes.
     *
     * @param checkpoint the weights
     * @return the statistics
     */
    public static ParameterStats of(final Checkpoint checkpoint) {
        return build(checkpoint.config(), checkpoint.bytesByDtype());
    }

    private static ParameterStats build(final ModelConfig config, final Map<String, Long> bytes) {
        final Map<String, Long> byComponent = new LinkedHashMap<>();
        long unique = 0;
        for (final ParameterSpec spec : ParameterLayout.of(config)) {
            byComponent.merge(spec.component(), spec.count(), Long::sum);
            unique += spec.count();
        }
        long logical = 0;
        for (final ParameterSpec spec : ParameterLayout.of(
                config.withPlan(SharingPlan.NONE).withKeyValueHeads(config.numHeads()))) {
            logical += spec.count();
        }
        final int[] attention = config.plan().attentionMap(config.numLayers());
        final int[] ffn = config.plan().ffnMap(config.numLayers());
        final List<Component> components = new ArrayList<>();
        for (final Map.Entry<String, Long> e : byComponent.entrySet()) {
            components.add(new Component(e.getKey(), e.getValue(), layersUsing(e.getKey(), attention, ffn)));
        }
        return new ParameterStats(config.plan().describe()
                + (config.relaxRank() > 0 ? " relaxed(rank " + config.relaxRank() + ")" : "")
                + ", kv_heads=" + config.numKeyValueHeads()
                + "/" + config.numHeads(), SharingPlan.letters(attention), SharingPlan.letters(ffn),
                logical, unique, (double) logical / unique, new LinkedHashMap<>(bytes), components);
    }

    private static List<Integer> layersUsing(final String component, final int[] attention, final int[] ffn) {
        final List<Integer> layers = new ArrayList<>();
        if (component.startsWith("delta[")) {
            return List.of(Integer.parseInt(component.substring(6, component.length() - 1)));
        }
        for (int i = 0; i < attention.length; i++) {
            if (component.equals(ParameterLayout.attentionComponent(attention[i]))
                    || component.equals(ParameterLayout.ffnComponent(ffn[i]))) {
                layers.add(i);
            }
        }
        return layers;
    }

    /**
     * Parameters of the per-layer deltas of relaxed sharing; the rest of the unique parameters is
     * the shared base (and the layers outside the stack).
     *
     * @return the delta parameters, 0 for plain sharing
     */
    public long deltaParameters() {
        return components.stream().filter(c -> c.name().startsWith("delta[")).mapToLong(Component::parameters).sum();
    }

    /** @return total stored bytes */
    public long totalBytes() {
        return bytesByDtype.values().stream().mapToLong(Long::longValue).sum();
    }

    /** @return the statistics as pretty-printed JSON */
    public String toJson() {
        final Map<String, Object> m = new LinkedHashMap<>();
        m.put("plan", plan);
        m.put("attention_layout", attentionLayout);
        m.put("ffn_layout", ffnLayout);
        m.put("logical_parameters", logicalParameters);
        m.put("unique_parameters", uniqueParameters);
        m.put("base_parameters", uniqueParameters - deltaParameters());
        m.put("delta_parameters", deltaParameters());
        m.put("sharing_ratio", sharingRatio);
        m.put("bytes_by_dtype", bytesByDtype);
        m.put("total_bytes", totalBytes());
        final List<Map<String, Object>> parts = new ArrayList<>();
        for (final Component c : components) {
            final Map<String, Object> p = new LinkedHashMap<>();
            p.put("component", c.name());
            p.put("parameters", c.parameters());
            p.put("layers", c.layers());
            parts.add(p);
        }
        m.put("components", parts);
        return new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create().toJson(m);
    }

    /** @return the statistics as a plain-text table */
    public String toTable() {
        final StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "plan               %s%n", plan));
        b.append(String.format(Locale.ROOT, "attention layout   %s%n", attentionLayout));
        b.append(String.format(Locale.ROOT, "ffn layout         %s%n", ffnLayout));
        b.append(String.format(Locale.ROOT, "logical params     %,d%n", logicalParameters));
        b.append(String.format(Locale.ROOT, "unique params      %,d%n", uniqueParameters));
        if (deltaParameters() > 0) {
            b.append(String.format(Locale.ROOT, "  shared base      %,d%n", uniqueParameters - deltaParameters()));
            b.append(String.format(Locale.ROOT, "  layer deltas     %,d (relaxed sharing)%n", deltaParameters()));
        }
        b.append(String.format(Locale.ROOT, "sharing ratio      %.2fx%n", sharingRatio));
        bytesByDtype.forEach((dtype, n) -> b.append(String.format(Locale.ROOT, "bytes %-12s %,d (%.2f MB)%n",
                dtype, n, n / 1e6)));
        final int width = Math.max(16, components.stream().mapToInt(c -> c.name().length()).max().orElse(0));
        b.append(String.format(Locale.ROOT, "%n%-" + width + "s %14s  %8s  %s%n", "component", "parameters", "share",
                "layers"));
        for (final Component c : components) {
            b.append(String.format(Locale.ROOT, "%-" + width + "s %,14d  %7.1f%%  %s%n", c.name(), c.parameters(),
                    100.0 * c.parameters() / uniqueParameters, c.layers().isEmpty() ? "-" : c.layers().toString()));
        }
        return b.toString();
    }
}
