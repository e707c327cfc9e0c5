package dev.streamformer.model;

import java.util.Locale;

/**
 * How the L layers of the encoder map onto M parameter sets (Takase and Kiyono 2021, "Lessons on
 * Parameter Sharing across Layers in Transformers"; ALBERT is {@link #ALL}).
 */
public enum SharingStrategy {
    /** Every layer has its own parameters (M = L). */
    NONE("none"),
    /** One set serves every layer (M = 1), as in ALBERT. */
    ALL("all"),
    /** Consecutive layers share: AABBCC for L = 6, M = 3 (ALBERT's num_hidden_groups). */
    SEQUENCE("sequence"),
    /** Sets repeat in order: ABCABC. */
    CYCLE("cycle"),
    /** Cycle, with the last M layers in reverse order: ABCCBA. */
    CYCLE_REVERSE("cycle-reverse");

    private final String configName;

    SharingStrategy(final String configName) {
        this.configName = configName;
    }

    /** @return the name used in config.json and on the command line */
    public String configName() {
        return configName;
    }

    /**
     * Parses a name as written in config.json or on the command line.
     *
     * @param name one of none, all, sequence, cycle, cycle-reverse
     * @return the strategy
     */
    public static SharingStrategy parse(final String name) {
        final String wanted = name.trim().toLowerCase(Locale.ROOT).replace('_', '-');
        for (final SharingStrategy s : values()) {
            if (s.configName.equals(wanted)) {
                return s;
            }
        }
        throw new IllegalArgumentException("Unknown sharing strategy '" + name
                + "'; use one of none, all, sequence, cycle, cycle-reverse");
    }

    /**
     * The number of parameter sets this strategy uses.
     *
     * @param layers L
     * @param groups M, used by the grouped strategies only
     * @return the number of distinct sets
     */
    public int sets(final int layers, final int groups) {
        return switch (this) {
            case NONE -> layers;
            case ALL -> 1;
            case SEQUENCE, CYCLE, CYCLE_REVERSE -> groups;
        };
    }

    /**
     * The parameter set of every layer.
     *
     * @param layers L, at least 1
     * @param groups M, in [1, L] for the grouped strategies
     * @return an array of length L whose entry i is the set used by layer i
     */
    public int[] layerToSet(final int layers, final int groups) {
        if (layers < 1) {
            throw new IllegalArgumentException("num_hidden_layers must be at least 1, got " + layers);
        }
        final int m = sets(layers, groups);
        if (m < 1 || m > layers) {
            throw new IllegalArgumentException("Sharing strategy " + configName + " needs 1 <= groups <= "
                    + layers + " (num_hidden_layers), got " + groups);
        }
        final int[] map = new int[layers];
        for (int i = 0; i < layers; i++) {
            map[i] = switch (this) {
                case NONE -> i;
                case ALL -> 0;
                // Hugging Face ALBERT: group_idx = int(i / (num_hidden_layers / num_hidden_groups)).
                case SEQUENCE -> (int) (i / ((double) layers / m));
                case CYCLE -> i % m;
                case CYCLE_REVERSE -> i < layers - m ? i % m : m - 1 - (i - (layers - m));
            };
        }
        return map;
    }
}
