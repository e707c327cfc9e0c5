package dev.streamformer.stream;

import java.io.IOException;
import java.nio.file.Path;
import java.util.function.Supplier;

import dev.streamformer.model.DefaultModel;
import dev.streamformer.model.InvalidInputException;
import dev.streamformer.text.TextTokenizer;

/**
 * A task's tokenizer for requests that carry text: the served model directory's own tokenizer.json,
 * loaded on the first text request (token-id traffic never loads it). A directory without one makes
 * every text request a VALIDATION dead letter that says so.
 */
final class TaskTokenizer implements Supplier<TextTokenizer>, AutoCloseable {

    private final String modelDir;
    private final int maxTokens;
    private final int maxPositions;
    private TextTokenizer tokenizer;
    private String unavailable;

    /**
     * @param modelDir the served model directory, empty for the shipped default model
     * @param maxTokens the most tokens a text is cut to, [CLS] and [SEP] included; 0 = the model's input
     *     length ({@link TextTokenizer#inputLength(Path, int)})
     * @param maxPositions the model's max_position_embeddings, the most tokens in any case
     */
    TaskTokenizer(final String modelDir, final int maxTokens, final int maxPositions) {
        this.modelDir = modelDir;
        this.maxTokens = maxTokens;
        this.maxPositions = maxPositions;
    }

    @Override
    public TextTokenizer get() {
        if (tokenizer == null && unavailable == null) {
            try {
                final Path dir = modelDir == null || modelDir.isBlank() ? DefaultModel.directory() : Path.of(modelDir);
                tokenizer = TextTokenizer.load(dir, TextTokenizer.length(dir, maxTokens, maxPositions));
            } catch (IOException | RuntimeException e) {
                unavailable = "cannot tokenize text: " + e.getMessage();
            }
        }
        if (tokenizer == null) {
            throw new InvalidInputException(0, unavailable);
        }
        return tokenizer;
    }

    @Override
    public void close() {
        if (tokenizer != null) {
            tokenizer.close();
            tokenizer = null;
        }
    }
}
