package dev.streamformer.text;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;

import com.google.gson.JsonElement;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;

import dev.streamformer.model.ModelConfig;
import dev.streamformer.model.ModelDirectory;

/**
 * The model's tokenizer: the model directory's {@code tokenizer.json} run by Hugging Face's
 * tokenizers library (through DJL's binding, bundled for linux-x86_64, no network). Texts longer
 * than the maximum are truncated, keeping [CLS] and [SEP]. Thread-safe.
 */
public final class TextTokenizer implements AutoCloseable {

    /** Characters per kept token in the first prefix of a long text; typical mail has 4-6. */
    private static final int PREFIX_CHARS_PER_TOKEN = 16;

    private final HuggingFaceTokenizer tokenizer;
    private final int maxLength;

    private TextTokenizer(final HuggingFaceTokenizer tokenizer, final int maxLength) {
        this.tokenizer = tokenizer;
        this.maxLength = maxLength;
    }

    /**
     * Loads the tokenizer of a model directory.
     *
     * @param modelDir a directory with tokenizer.json
     * @param maxLength the most tokens per text, [CLS] and [SEP] included
     * @return the tokenizer
     * @throws IOException when tokenizer.json is missing or unreadable
     */
    public static TextTokenizer load(final Path modelDir, final int maxLength) throws IOException {
        final Path file = modelDir.resolve(ModelDirectory.TOKENIZER);
        if (!Files.isRegularFile(file)) {
            throw new IOException("No " + ModelDirectory.TOKENIZER + " in " + modelDir
                    + ": this model has no tokenizer, so send token ids instead of text (produce --token-ids)");
        }
        System.setProperty("ai.djl.offline", System.getProperty("ai.djl.offline", "true"));
        final HuggingFaceTokenizer tokenizer = HuggingFaceTokenizer.builder()
                .optTokenizerPath(file)
                .optAddSpecialTokens(true)
                .optTruncation(true)
                .optMaxLength(maxLength)
                .optPadding(false)
                .build();
        return new TextTokenizer(tokenizer, maxLength);
    }

    /**
     * The length a model reads texts at: where its tokenizer.json truncates (Hugging Face's
     * {@code truncation.max_length}, which {@code model train} sets to the length it trained at), at
     * most {@code max_position_embeddings}. A tokenizer that does not truncate, or none, gives
     * {@code max_position_embeddings}: position embeddings past the trained length were never
     * trained, so a model reads best at the length it learned.
     *
     * @param modelDir a model directory
     * @param maxPositions its max_position_embeddings
     * @return the most tokens per text to give it, [CLS] and [SEP] included
     * @throws IOException when tokenizer.json cannot be read
     */
    public static int inputLength(final Path modelDir, final int maxPositions) throws IOException {
        final Path file = modelDir.resolve(ModelDirectory.TOKENIZER);
        if (!Files.isRegularFile(file)) {
            return maxPositions;
        }
        final JsonElement truncation;
        try {
            truncation = JsonParser.parseString(Files.readString(file)).getAsJsonObject().get("truncation");
        } catch (JsonParseException | IllegalStateException e) {
            throw new IOException(file + " is not a tokenizer.json: " + e.getMessage(), e);
        }
        if (truncation == null || !truncation.isJsonObject() || !truncation.getAsJsonObject().has("max_length")) {
            return maxPositions;
        }
        return Math.min(truncation.getAsJsonObject().get("max_length").getAsInt(), maxPositions);
    }

    /**
     * {@link #inputLength(Path, int)} with the directory's own config.json.
     *
     * @param modelDir a model directory
     * @return the most tokens per text to give it
     * @throws IOException when config.json or tokenizer.json cannot be read
     */
    public static int inputLength(final Path modelDir) throws IOException {
        return inputLength(modelDir, ModelConfig.read(modelDir).maxPositions());
    }

    /**
     * The length to cut texts at for a model: the one asked for, at most {@code max_position_embeddings},
     * or, when none is asked for, the model's input length ({@link #inputLength(Path, int)}).
     *
     * @param modelDir a model directory
     * @param requested tokens per text asked for ([CLS] and [SEP] included); 0 = the model's input length
     * @param maxPositions its max_position_embeddings
     * @return the most tokens per text to give it
     * @throws IOException when tokenizer.json cannot be read
     * @throws IllegalArgumentException when {@code requested} is negative
     */
    public static int length(final Path modelDir, final int requested, final int maxPositions) throws IOException {
        if (requested < 0) {
            throw new IllegalArgumentException("a text length must be a number of tokens, or 0 for the length the"
                    + " model was trained at; got " + requested);
        }
        return requested > 0 ? Math.min(requested, maxPositions) : inputLength(modelDir, maxPositions);
    }

    /**
     * {@link #length(Path, int, int)} with the directory's own config.json.
     *
     * @param modelDir a model directory
     * @param requested tokens per text asked for, or null or 0 for the model's input length
     * @return the most tokens per text to give it
     * @throws IOException when config.json or tokenizer.json cannot be read
     */
    public static int length(final Path modelDir, final Integer requested) throws IOException {
        return length(modelDir, requested == null ? 0 : requested, ModelConfig.read(modelDir).maxPositions());
    }

    /**
     * @param text the text
     * @return token ids, [CLS] first and [SEP] last, at most the maximum length
     */
    public int[] encode(final String text) {
        return tokens(text).ids();
    }

    /**
     * Token ids of a text and whether it was cut to fit.
     *
     * @param ids token ids, [CLS] first and [SEP] last
     * @param truncated whether the text had more tokens than the maximum
     */
    public record Tokens(int[] ids, boolean truncated) {
    }

    /**
     * @param text the text
     * @return its token ids, at most the maximum length, and whether it was cut
     */
    public Tokens tokens(final String text) {
        // A text much longer than the cut is tokenized by growing prefixes that end at whitespace, not
        // whole (a 6.5 MB e-mail took 19 s): once a prefix has more tokens than the cut keeps, the kept
        // tokens are those of the whole text, since no word crosses the prefix's end.
        for (long chars = (long) maxLength * PREFIX_CHARS_PER_TOKEN; chars < text.length(); chars *= 4) {
            final int end = prefixEnd(text, (int) chars);
            if (end > 0) {
                final Encoding prefix = tokenizer.encode(text.substring(0, end));
                if (prefix.exceedMaxLength()) {
                    return tokens(prefix);
                }
            }
        }
        return tokens(tokenizer.encode(text));
    }

    private static Tokens tokens(final Encoding encoding) {
        final long[] ids = encoding.getIds();
        final int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = Math.toIntExact(ids[i]);
        }
        return new Tokens(out, encoding.exceedMaxLength());
    }

    /** @return the end of the last whitespace run at or before {@code chars}, or 0 when there is none */
    private static int prefixEnd(final String text, final int chars) {
        for (int i = chars; i > 0; i--) {
            if (Character.isWhitespace(text.charAt(i - 1))) {
                return i;
            }
        }
        return 0;
    }

    /** @return the most tokens per text */
    public int maxLength() {
        return maxLength;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
