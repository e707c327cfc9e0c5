package dev.streamformer.model;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

/**
 * When a record leaves the encoder early, reading the exits of a model with {@link ExitHeads}:
 * {@code none} (every record runs every layer), {@code confidence:<p>} (after the first layer whose
 * exit gives some label a probability of at least p) or {@code patience:<t>} (after the first layer
 * whose exit has given the same label at t consecutive exits, as PABEE does). A record that never
 * qualifies runs every layer. A model's default is {@code streamformer.exit_policy} in its config.json.
 *
 * @param kind which rule
 * @param threshold the probability of {@link Kind#CONFIDENCE}
 * @param patience the consecutive agreeing exits of {@link Kind#PATIENCE}
 */
public record ExitPolicy(Kind kind, double threshold, int patience) {

    /** The key in config.json's {@code streamformer} block. */
    public static final String CONFIG_KEY = "exit_policy";
    /** Every record runs every layer. */
    public static final ExitPolicy NONE = new ExitPolicy(Kind.NONE, 0, 0);

    /** The rules. */
    public enum Kind {
        /** Run every layer. */
        NONE,
        /** Leave once the top probability reaches the threshold. */
        CONFIDENCE,
        /** Leave once the same label came out of this many consecutive exits. */
        PATIENCE
    }

    /** Checks the threshold and the patience. */
    public ExitPolicy {
        if (kind == Kind.CONFIDENCE && !(threshold > 0 && threshold <= 1)) {
            throw new IllegalArgumentException("a confidence threshold is a probability in (0, 1], got " + threshold);
        }
        if (kind == Kind.PATIENCE && patience < 1) {
            throw new IllegalArgumentException("patience is at least 1 exit, got " + patience);
        }
    }

    /**
     * @param text none, confidence:p (0 < p <= 1) or patience:t (t >= 1)
     * @return the policy
     * @throws IllegalArgumentException naming the forms
     */
    public static ExitPolicy parse(final String text) {
        final String t = text.trim().toLowerCase(Locale.ROOT);
        try {
            if (t.equals("none")) {
                return NONE;
            }
            if (t.startsWith("confidence:")) {
                return new ExitPolicy(Kind.CONFIDENCE, Double.parseDouble(t.substring("confidence:".length())), 0);
            }
            if (t.startsWith("patience:")) {
                return new ExitPolicy(Kind.PATIENCE, 0, Integer.parseInt(t.substring("patience:".length())));
            }
        } catch (NumberFormatException e) {
            // named below
        }
        throw new IllegalArgumentException("Unknown exit policy '" + text + "': use none, confidence:<p> (for example"
                + " confidence:0.95) or patience:<t> (for example patience:2)");
    }

    /**
     * The layer a record leaves after, given what every exit answers for it. Only the exits up to that
     * layer are read, so a server that runs layer by layer decides the same.
     *
     * @param logitsByDepth per layer, B x C logits, row-major
     * @param row the record's row
     * @param labels C
     * @return the layer (0-based) whose exit answers for the record
     */
    public int exitLayer(final float[][] logitsByDepth, final int row, final int labels) {
        final int last = logitsByDepth.length - 1;
        int previous = -1;
        int agreeing = 0;
        for (int layer = 0; layer < last; layer++) {
            if (decided(logitsByDepth[layer], row, labels, previous, agreeing)) {
                return layer;
            }
            final int label = argmax(logitsByDepth[layer], row, labels);
            agreeing = label == previous ? agreeing + 1 : 1;
            previous = label;
        }
        return last;
    }

    /**
     * Whether a record leaves after this exit.
     *
     * @param logits this exit's B x C logits
     * @param row the record's row
     * @param labels C
     * @param previous the label of the exit before (-1 before the first)
     * @param agreeing how many consecutive exits before this one gave {@code previous}
     * @return true to leave now
     */
    public boolean decided(final float[] logits, final int row, final int labels, final int previous,
            final int agreeing) {
        return switch (kind) {
            case NONE -> false;
            case CONFIDENCE -> topProbability(logits, row, labels) >= threshold;
            case PATIENCE -> (argmax(logits, row, labels) == previous ? agreeing + 1 : 1) >= patience;
        };
    }

    /** @return the form {@link #parse} reads */
    @Override
    public String toString() {
        return switch (kind) {
            case NONE -> "none";
            case CONFIDENCE -> "confidence:" + threshold;
            case PATIENCE -> "patience:" + patience;
        };
    }

    /**
     * A model directory's default policy.
     *
     * @param dir the model directory
     * @return its {@code streamformer.exit_policy}, or {@link #NONE}
     * @throws IOException when config.json cannot be read
     */
    public static ExitPolicy read(final Path dir) throws IOException {
        final JsonObject ext = extension(JsonParser.parseString(Files.readString(dir.resolve(ModelDirectory.CONFIG),
                StandardCharsets.UTF_8)).getAsJsonObject());
        return ext.has(CONFIG_KEY) ? parse(ext.get(CONFIG_KEY).getAsString()) : NONE;
    }

    /**
     * Writes this policy as a model directory's default, keeping the rest of its config.json.
     *
     * @param dir the model directory
     * @throws IOException when config.json cannot be read or written
     */
    public void write(final Path dir) throws IOException {
        final Path file = dir.resolve(ModelDirectory.CONFIG);
        final JsonObject root = JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8)).getAsJsonObject();
        if (!root.has("streamformer")) {
            root.add("streamformer", new JsonObject());
        }
        root.getAsJsonObject("streamformer").addProperty(CONFIG_KEY, toString());
        Files.writeString(file, new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create().toJson(root) + "\n",
                StandardCharsets.UTF_8);
    }

    private static JsonObject extension(final JsonObject root) {
        return root.has("streamformer") ? root.getAsJsonObject("streamformer") : new JsonObject();
    }

    /**
     * @param logits B x C logits, row-major
     * @param row a row
     * @param labels C
     * @return the row's most probable label
     */
    public static int argmax(final float[] logits, final int row, final int labels) {
        int best = 0;
        for (int c = 1; c < labels; c++) {
            if (logits[row * labels + c] > logits[row * labels + best]) {
                best = c;
            }
        }
        return best;
    }

    private static double topProbability(final float[] logits, final int row, final int labels) {
        final float max = logits[row * labels + argmax(logits, row, labels)];
        double sum = 0;
        for (int c = 0; c < labels; c++) {
            sum += Math.exp(logits[row * labels + c] - max);
        }
        return 1 / sum;
    }
}
