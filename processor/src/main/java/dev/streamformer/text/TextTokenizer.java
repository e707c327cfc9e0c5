package dev.streamformer.text;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;

import dev.streamformer.model.ModelDirectory;

/**
 * The model's tokenizer: the model directory's {@code tokenizer.json} run by Hugging Face's
 * tokenizers library (through DJL's binding, bundled for linux-x86_64, no network). Texts longer
 * than the maximum are truncated, keeping [CLS] and [SEP]. Thread-safe.
 */
public final class TextTokenizer implements AutoCloseable {

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
        final Encoding encoding = tokenizer.encode(text);
        final long[] ids = encoding.getIds();
        final int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = Math.toIntExact(ids[i]);
        }
        return new Tokens(out, encoding.exceedMaxLength());
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
