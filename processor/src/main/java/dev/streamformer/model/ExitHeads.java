package dev.streamformer.model;

import java.util.Arrays;
import java.util.Locale;

/**
 * Which classifier reads the encoder's state after each layer, so that a record already decided can
 * stop early (an encoder whose layers share their weights computes the same function at every depth,
 * so every depth's state is one a classifier can read).
 */
public enum ExitHeads {
    /** No early exits: only the last layer is read, by the model's pooler and classifier. */
    NONE("none"),
    /** The model's one pooler and classifier read every depth: no tensors beyond a plain model's. */
    SHARED("shared"),
    /**
     * A pooler and classifier of its own after every layer but the last
     * ({@code streamformer.exits.<layer>.pooler.*}, {@code streamformer.exits.<layer>.classifier.*});
     * the last layer is read by the model's own, so its full-depth output is a plain model's.
     */
    PER_LAYER("per_layer");

    private final String configName;

    ExitHeads(final String configName) {
        this.configName = configName;
    }

    /** @return the name in config.json and on the command line */
    public String configName() {
        return configName;
    }

    /**
     * @param name none, shared or per_layer (per-layer too), in any case
     * @return the exit heads
     * @throws IllegalArgumentException naming the choices
     */
    public static ExitHeads parse(final String name) {
        final String n = name.trim().toLowerCase(Locale.ROOT).replace('-', '_');
        for (final ExitHeads e : values()) {
            if (e.configName.equals(n)) {
                return e;
            }
        }
        throw new IllegalArgumentException("Unknown exits '" + name + "': use one of "
                + Arrays.stream(values()).map(ExitHeads::configName).toList());
    }

    @Override
    public String toString() {
        return configName;
    }
}
