package dev.streamformer.train;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import dev.streamformer.text.Corpus;
import dev.streamformer.text.TextTokenizer;

/** Tokenized splits of the SpamAssassin corpus. */
public final class Datasets {

    /** The two splits of the corpus. */
    public enum SplitKind {
        /** Stratified random 80/10/10. */
        RANDOM,
        /** Train and validate on the -1 groups, test on the later -2 groups. */
        LATER;

        /**
         * @param name random or later
         * @return the kind
         */
        public static SplitKind parse(final String name) {
            return switch (name) {
                case "random" -> RANDOM;
                case "later" -> LATER;
                default -> throw new IllegalArgumentException("split must be random or later, got '" + name + "'");
            };
        }
    }

    /**
     * A tokenized split.
     *
     * @param train training examples
     * @param validation validation examples
     * @param test test examples
     */
    public record Tokenized(List<Example> train, List<Example> validation, List<Example> test) {

        /**
         * @param part train, validation or test
         * @return that part
         */
        public List<Example> part(final String part) {
            return switch (part) {
                case "train" -> train;
                case "validation" -> validation;
                case "test" -> test;
                default -> throw new IllegalArgumentException("part must be train, validation or test, got '" + part + "'");
            };
        }
    }

    /** The seed of both splits, fixed so that every model sees the same parts. */
    public static final long SPLIT_SEED = 13;

    private Datasets() {
    }

    /**
     * Reads, splits and tokenizes the corpus.
     *
     * @param dataDir the corpus directory
     * @param kind which split
     * @param modelDir the model directory holding tokenizer.json
     * @param maxLength tokens per example
     * @return the tokenized split
     * @throws IOException when the corpus or tokenizer cannot be read
     */
    public static Tokenized load(final Path dataDir, final SplitKind kind, final Path modelDir, final int maxLength)
            throws IOException {
        final List<Corpus.Message> messages = Corpus.read(dataDir);
        final Corpus.Split split = kind == SplitKind.RANDOM
                ? Corpus.stratifiedRandom(messages, SPLIT_SEED) : Corpus.laterCollected(messages, SPLIT_SEED);
        try (TextTokenizer tokenizer = TextTokenizer.load(modelDir, maxLength)) {
            return new Tokenized(tokenize(split.train(), tokenizer), tokenize(split.validation(), tokenizer),
                    tokenize(split.test(), tokenizer));
        }
    }

    private static List<Example> tokenize(final List<Corpus.Message> messages, final TextTokenizer tokenizer) {
        final List<Example> out = new ArrayList<>(messages.size());
        for (final Corpus.Message m : messages) {
            out.add(new Example(m.id(), tokenizer.encode(m.text()), m.label()));
        }
        return out;
    }
}
