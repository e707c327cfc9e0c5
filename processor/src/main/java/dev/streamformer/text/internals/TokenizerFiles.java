package dev.streamformer.text.internals;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import dev.streamformer.model.ModelDirectory;

/**
 * Writes a WordPiece vocabulary as a Hugging Face {@code tokenizer.json} (runs of repeated punctuation
 * cut short, then BertNormalizer with lowercasing, BertPreTokenizer, WordPiece model, [CLS] ... [SEP]
 * template) and as {@code vocab.txt} (one token per line, line number = id), the two files
 * BERT-family tooling reads.
 *
 * <p>Runs: BERT's pre-tokenizer makes every punctuation mark a token, so a separator line of 60
 * dashes or a "Call now!!!!!!!!" costs as many tokens as it has marks; in the mail corpus a
 * tenth of hard ham's and 7 % of later spam's first 254 tokens went to such runs. A run of one of
 * {@link #RUN_CHARACTERS} longer than {@value #MAX_RUN} becomes {@value #MAX_RUN} marks (one
 * {@code Replace} normalizer per character, before the BERT normalizer), so that the budget goes
 * to words while "..." and "!!!" still read as themselves.
 */
public final class TokenizerFiles {

    /** The special tokens, at ids 0 to 4. */
    public static final List<String> SPECIAL_TOKENS = List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]");
    /** The prefix of a piece inside a word. */
    public static final String CONTINUATION = "##";

    /** Punctuation whose long runs are cut to {@value #MAX_RUN} marks. */
    public static final String RUN_CHARACTERS = ".-_=*!~#+<>$?:/|";
    /** The longest run of one of {@link #RUN_CHARACTERS} that is kept as it is. */
    public static final int MAX_RUN = 3;
    /** The run patterns, in the order of {@link #RUN_CHARACTERS}. */
    private static final List<Pattern> RUNS = RUN_CHARACTERS.chars().mapToObj(c -> Pattern.compile(runPattern((char) c)))
            .toList();

    private TokenizerFiles() {
    }

    /**
     * What the written tokenizer's first normalizers do, for code that splits text itself (the
     * vocabulary trainer).
     *
     * @param text a text
     * @return the text with every run of one of {@link #RUN_CHARACTERS} cut to {@value #MAX_RUN}
     */
    public static String cutRuns(final String text) {
        String out = text;
        for (int i = 0; i < RUNS.size(); i++) {
            out = RUNS.get(i).matcher(out).replaceAll(Matcher.quoteReplacement(
                    String.valueOf(RUN_CHARACTERS.charAt(i)).repeat(MAX_RUN)));
        }
        return out;
    }

    /** A pattern both Java's and Oniguruma's (the tokenizers library's) regex engines read the same way. */
    private static String runPattern(final char c) {
        return "[" + c + "]{" + (MAX_RUN + 1) + ",}";
    }

    /**
     * @param dir the model directory
     * @param vocab tokens in id order; the first five are the special tokens
     * @throws IOException when the files cannot be written
     */
    public static void write(final Path dir, final List<String> vocab) throws IOException {
        Files.createDirectories(dir);
        Files.write(dir.resolve(ModelDirectory.VOCAB), vocab, StandardCharsets.UTF_8);
        Files.writeString(dir.resolve(ModelDirectory.TOKENIZER), tokenizerJson(vocab), StandardCharsets.UTF_8);
    }

    /**
     * Makes a model directory's tokenizer.json truncate at the length its model was trained at
     * (Hugging Face's {@code truncation} field, right side, longest first), so that every reader of
     * the directory, {@link TextTokenizer#inputLength} and the Hugging Face tokenizers library
     * alike, cuts texts where the model learned to read them.
     *
     * @param dir a model directory with tokenizer.json
     * @param maxLength the most tokens per text, [CLS] and [SEP] included
     * @throws IOException when the file cannot be read or written
     */
    public static void writeInputLength(final Path dir, final int maxLength) throws IOException {
        final Path file = dir.resolve(ModelDirectory.TOKENIZER);
        final JsonObject root = JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8)).getAsJsonObject();
        final JsonObject truncation = new JsonObject();
        truncation.addProperty("direction", "Right");
        truncation.addProperty("max_length", maxLength);
        truncation.addProperty("strategy", "LongestFirst");
        truncation.addProperty("stride", 0);
        root.add("truncation", truncation);
        Files.writeString(file, new GsonBuilder().serializeNulls().disableHtmlEscaping().create().toJson(root),
                StandardCharsets.UTF_8);
    }

    static String tokenizerJson(final List<String> vocab) {
        final Map<String, Object> root = new LinkedHashMap<>();
        root.put("version", "1.0");
        root.put("truncation", null);
        root.put("padding", null);
        final List<Map<String, Object>> added = new ArrayList<>();
        for (final String special : SPECIAL_TOKENS) {
            final Map<String, Object> t = new LinkedHashMap<>();
            t.put("id", vocab.indexOf(special));
            t.put("content", special);
            t.put("single_word", false);
            t.put("lstrip", false);
            t.put("rstrip", false);
            t.put("normalized", false);
            t.put("special", true);
            added.add(t);
        }
        root.put("added_tokens", added);
        final List<Map<String, Object>> normalizers = new ArrayList<>();
        for (final char c : RUN_CHARACTERS.toCharArray()) {
            normalizers.add(Map.of("type", "Replace", "pattern", Map.of("Regex", runPattern(c)),
                    "content", String.valueOf(c).repeat(MAX_RUN)));
        }
        normalizers.add(Map.of("type", "BertNormalizer", "clean_text", true, "handle_chinese_chars", true,
                "lowercase", true));
        root.put("normalizer", Map.of("type", "Sequence", "normalizers", normalizers));
        root.put("pre_tokenizer", Map.of("type", "BertPreTokenizer"));
        final int cls = vocab.indexOf("[CLS]");
        final int sep = vocab.indexOf("[SEP]");
        root.put("post_processor", Map.of(
                "type", "TemplateProcessing",
                "single", List.of(special("[CLS]", 0), sequence("A", 0), special("[SEP]", 0)),
                "pair", List.of(special("[CLS]", 0), sequence("A", 0), special("[SEP]", 0), sequence("B", 1),
                        special("[SEP]", 1)),
                "special_tokens", Map.of(
                        "[CLS]", Map.of("id", "[CLS]", "ids", List.of(cls), "tokens", List.of("[CLS]")),
                        "[SEP]", Map.of("id", "[SEP]", "ids", List.of(sep), "tokens", List.of("[SEP]")))));
        root.put("decoder", Map.of("type", "WordPiece", "prefix", CONTINUATION, "cleanup", true));
        final Map<String, Integer> ids = new LinkedHashMap<>();
        for (int i = 0; i < vocab.size(); i++) {
            ids.put(vocab.get(i), i);
        }
        final Map<String, Object> model = new LinkedHashMap<>();
        model.put("type", "WordPiece");
        model.put("unk_token", "[UNK]");
        model.put("continuing_subword_prefix", CONTINUATION);
        model.put("max_input_chars_per_word", 100);
        model.put("vocab", ids);
        root.put("model", model);
        return new GsonBuilder().serializeNulls().disableHtmlEscaping().create().toJson(root);
    }

    private static Map<String, Object> special(final String id, final int type) {
        return Map.of("SpecialToken", Map.of("id", id, "type_id", type));
    }

    private static Map<String, Object> sequence(final String id, final int type) {
        return Map.of("Sequence", Map.of("id", id, "type_id", type));
    }
}
