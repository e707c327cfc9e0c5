package dev.streamformer.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;

/**
 * The token ids of a model's vocabulary that carry no text: [PAD], [CLS], [SEP], [MASK] and the like.
 * An input made of them alone is an empty text: every model answers it with its prior, confidently
 * and meaninglessly (the shipped model said spam with p = 0.999), so such inputs are refused. The
 * unknown token ([UNK]) is text the vocabulary does not hold, not an absence of text, and counts as
 * content.
 */
public final class SpecialTokens {

    /** No special tokens known: every input with at least one token is served. */
    public static final SpecialTokens NONE = new SpecialTokens(new TreeMap<>());

    /** The special tokens of a BERT WordPiece vocabulary, for a directory with vocab.txt only. */
    private static final Set<String> BERT = Set.of("[PAD]", "[CLS]", "[SEP]", "[MASK]");

    private final TreeMap<Integer, String> tokens;
    /** The same ids, for the check every request passes. */
    private final BitSet ids = new BitSet();

    private SpecialTokens(final TreeMap<Integer, String> tokens) {
        this.tokens = tokens;
        tokens.keySet().forEach(ids::set);
    }

    /**
     * Reads a model directory's special tokens: those tokenizer.json marks {@code "special": true}
     * except its unknown token, else the BERT ones found in vocab.txt, else none.
     *
     * @param dir the model directory
     * @return its special tokens
     * @throws IOException when a tokenizer file cannot be read
     */
    public static SpecialTokens read(final Path dir) throws IOException {
        final Path json = dir.resolve(ModelDirectory.TOKENIZER);
        final TreeMap<Integer, String> found = new TreeMap<>();
        if (Files.isRegularFile(json)) {
            final JsonObject root;
            try {
                root = JsonParser.parseString(Files.readString(json)).getAsJsonObject();
            } catch (JsonParseException | IllegalStateException e) {
                throw new IOException(json + " is not a tokenizer.json: " + e.getMessage(), e);
            }
            final JsonElement model = root.get("model");
            final String unknown = model != null && model.isJsonObject() && model.getAsJsonObject().has("unk_token")
                    ? model.getAsJsonObject().get("unk_token").getAsString() : "[UNK]";
            final JsonElement added = root.get("added_tokens");
            if (added != null && added.isJsonArray()) {
                for (final JsonElement e : added.getAsJsonArray()) {
                    final JsonObject token = e.getAsJsonObject();
                    final String content = token.get("content").getAsString();
                    if (token.has("special") && token.get("special").getAsBoolean() && !content.equals(unknown)) {
                        found.put(token.get("id").getAsInt(), content);
                    }
                }
            }
            return new SpecialTokens(found);
        }
        final Path vocab = dir.resolve(ModelDirectory.VOCAB);
        if (Files.isRegularFile(vocab)) {
            final List<String> lines = Files.readAllLines(vocab);
            for (int id = 0; id < lines.size(); id++) {
                if (BERT.contains(lines.get(id).strip())) {
                    found.put(id, lines.get(id).strip());
                }
            }
        }
        return new SpecialTokens(found);
    }

    /**
     * @param input a sequence
     * @return whether every token it attends to is special (so its text is empty); false when no
     *     special tokens are known
     */
    public boolean onlySpecial(final EncoderInput input) {
        if (tokens.isEmpty()) {
            return false;
        }
        final int[] tokenIds = input.tokenIds();
        final int[] mask = input.attentionMask();
        for (int j = 0; j < tokenIds.length; j++) {
            if ((mask == null || mask[j] == 1) && (tokenIds[j] < 0 || !ids.get(tokenIds[j]))) {
                return false;
            }
        }
        return true;
    }

    /**
     * @param ids token ids
     * @return them with their names where special, as in {@code 2 [CLS], 3 [SEP]}
     */
    public String describe(final int[] ids) {
        final StringBuilder sb = new StringBuilder();
        for (final int id : Arrays.stream(ids).distinct().limit(8).toArray()) {
            sb.append(sb.length() == 0 ? "" : ", ").append(id);
            if (tokens.containsKey(id)) {
                sb.append(' ').append(tokens.get(id));
            }
        }
        return sb.toString();
    }
}
