package dev.streamformer.model;

import java.util.Arrays;
import java.util.OptionalInt;

/**
 * Which parameter set every layer uses, chosen separately for attention and for the feed-forward
 * block, plus grouped key/value heads inside each attention set.
 *
 * @param attention strategy of the attention parameters
 * @param attentionGroups M for a grouped attention strategy (ignored by none and all)
 * @param ffn strategy of the feed-forward parameters
 * @param ffnGroups M for a grouped feed-forward strategy (ignored by none and all)
 */
public record SharingPlan(SharingStrategy attention, int attentionGroups, SharingStrategy ffn, int ffnGroups) {

    /** No sharing at all. */
    public static final SharingPlan NONE = new SharingPlan(SharingStrategy.NONE, 0, SharingStrategy.NONE, 0);
    /** ALBERT: one set of attention and feed-forward parameters for every layer. */
    public static final SharingPlan ALL = new SharingPlan(SharingStrategy.ALL, 1, SharingStrategy.ALL, 1);
    /** Attention shared by all layers, feed-forward per layer. */
    public static final SharingPlan ATTENTION_ONLY = new SharingPlan(SharingStrategy.ALL, 1, SharingStrategy.NONE, 0);
    /** Feed-forward shared by all layers, attention per layer. */
    public static final SharingPlan FFN_ONLY = new SharingPlan(SharingStrategy.NONE, 0, SharingStrategy.ALL, 1);

    /**
     * The same grouped strategy for attention and feed-forward.
     *
     * @param strategy the strategy
     * @param groups M
     * @return the plan
     */
    public static SharingPlan both(final SharingStrategy strategy, final int groups) {
        return new SharingPlan(strategy, groups, strategy, groups);
    }

    /**
     * @param layers L
     * @return entry i is the attention set of layer i
     */
    public int[] attentionMap(final int layers) {
        return attention.layerToSet(layers, attentionGroups);
    }

    /**
     * @param layers L
     * @return entry i is the feed-forward set of layer i
     */
    public int[] ffnMap(final int layers) {
        return ffn.layerToSet(layers, ffnGroups);
    }

    /**
     * Whether Hugging Face ALBERT can express this plan: attention and feed-forward share the same
     * layout, and that layout is ALBERT's num_hidden_groups (consecutive layers per group).
     *
     * @param layers L
     * @return the number of ALBERT layer groups, or empty when ALBERT cannot express the plan
     */
    public OptionalInt albertGroups(final int layers) {
        final int[] a = attentionMap(layers);
        if (!Arrays.equals(a, ffnMap(layers))) {
            return OptionalInt.empty();
        }
        final int groups = Arrays.stream(a).max().orElse(0) + 1;
        final int[] albert = SharingStrategy.SEQUENCE.layerToSet(layers, groups);
        return Arrays.equals(a, albert) ? OptionalInt.of(groups) : OptionalInt.empty();
    }

    /**
     * A short human-readable description, for example {@code attention=cycle(3) ffn=cycle(3)}.
     *
     * @return the description
     */
    public String describe() {
        return "attention=" + describe(attention, attentionGroups) + " ffn=" + describe(ffn, ffnGroups);
    }

    private static String describe(final SharingStrategy s, final int groups) {
        return switch (s) {
            case NONE, ALL -> s.configName();
            default -> s.configName() + "(" + groups + ")";
        };
    }

    /**
     * Renders the layout as letters, one per layer, for example {@code ABCABC}.
     *
     * @param map a layer-to-set map
     * @return the letters
     */
    public static String letters(final int[] map) {
        final StringBuilder b = new StringBuilder();
        for (final int set : map) {
            b.append(set < 26 ? (char) ('A' + set) : '?');
        }
        return b.toString();
    }
}
