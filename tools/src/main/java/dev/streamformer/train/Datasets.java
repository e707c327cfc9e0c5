package dev.streamformer.train;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import dev.streamformer.corpus.Corpus;
import dev.streamformer.text.TextTokenizer;

/** Tokenized splits of the SpamAssassin corpus. */
public final class Datasets {

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
     * @param kind random or later
     * @param modelDir the model directory holding tokenizer.json
     * @param maxLength tokens per example
     * @return the tokenized split
     * @throws IOException when the corpus or tokenizer cannot be read
     */
    public static Tokenized load(final Path dataDir, final String kind, final Path modelDir, final int maxLength)
            throws IOException {
        final List<Corpus.Message> messages = Corpus.read(dataDir);
        final Corpus.Split split = Corpus.split(kind, messages, SPLIT_SEED);
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
