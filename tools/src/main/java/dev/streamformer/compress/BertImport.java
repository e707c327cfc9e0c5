package dev.streamformer.compress;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.protobuf.CodedInputStream;

import dev.streamformer.model.Activation;
import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.ModelConfig;
import dev.streamformer.model.ParameterLayout;
import dev.streamformer.model.SafeTensors;
import dev.streamformer.model.SafeTensors.Tensor;
import dev.streamformer.model.SharingPlan;
import dev.streamformer.engine.onnx.internals.proto.Onnx.GraphProto;
import dev.streamformer.engine.onnx.internals.proto.Onnx.ModelProto;
import dev.streamformer.engine.onnx.internals.proto.Onnx.NodeProto;
import dev.streamformer.engine.onnx.internals.proto.Onnx.TensorProto;
import dev.streamformer.text.internals.TokenizerFiles;

/**
 * Imports a pre-trained BERT encoder (Hugging Face's {@code BertModel}: all-MiniLM-L6-v2, BERT-base,
 * ...) as a not-shared model directory of this project, so that it can be fine-tuned, shared,
 * pruned and quantized like a model trained here.
 *
 * <p>Sources: an ONNX export of the encoder (the Hugging Face / Optimum way: each linear layer a
 * {@code MatMul} node named {@code /encoder/layer.N/attention/self/query/MatMul} and so on, whose
 * weight input is stored transposed), a jar or zip holding one (for example the all-MiniLM-L6-v2 jar
 * on Maven Central), or a Hugging Face directory with {@code model.safetensors}. Its vocabulary comes
 * from the {@code tokenizer.json} or {@code vocab.txt} beside it (in the same jar, or the same
 * directory).
 *
 * <p>What changes and what does not: BERT's layers become the not-shared plan under ALBERT tensor
 * names (query, key, value and the attention output; the feed-forward pair; both LayerNorms), with
 * the embeddings of size E = H and no projection, so the encoder computes what the source computes
 * (the importer's test checks the last hidden states against ONNX Runtime on the source). The
 * vocabulary is reordered so that the special tokens take ids 0 to 4, as this project's
 * tokenizers have them, and may be cut to the tokens a corpus uses (see {@link #keptTokens}).
 * Position embeddings may be cut to fewer positions. A pooler and a classifier head are imported
 * when the source has them, otherwise initialised as {@link Checkpoint#random} does.
 */
public final class BertImport {

    /** MatMul node names of a Hugging Face BERT export, and the Hugging Face weight each multiplies by. */
    private static final Pattern MATMUL = Pattern.compile(
            "/(?:bert/)?encoder/layer\\.(\\d+)/(attention/self/query|attention/self/key|attention/self/value"
                    + "|attention/output/dense|intermediate/dense|output/dense)/MatMul");

    /** Hugging Face BERT layer names (after {@code encoder.layer.N.}) and their ALBERT names in a set. */
    private static final Map<String, String> LAYER_NAMES = Map.ofEntries(
            Map.entry("attention.self.query", "attention.query"),
            Map.entry("attention.self.key", "attention.key"),
            Map.entry("attention.self.value", "attention.value"),
            Map.entry("attention.output.dense", "attention.dense"),
            Map.entry("attention.output.LayerNorm", ParameterLayout.ATTENTION_NORM),
            Map.entry("intermediate.dense", "ffn"),
            Map.entry("output.dense", "ffn_output"),
            Map.entry("output.LayerNorm", ParameterLayout.FFN_NORM));

    private static final Pattern LAYER = Pattern.compile("encoder\\.layer\\.(\\d+)\\.(.+)\\.(weight|bias)");

    private BertImport() {
    }

    /**
     * A BERT encoder as read from its source.
     *
     * @param tensors fp32 tensors under Hugging Face {@code BertModel} names (no {@code bert.}
     *     prefix), linear weights as [out, in]
     * @param vocab the source's tokens in id order
     */
    public record Source(Map<String, Tensor> tensors, List<String> vocab) {

        /** @return the number of encoder layers */
        public int layers() {
            int layers = 0;
            for (final String name : tensors.keySet()) {
                final Matcher m = LAYER.matcher(name);
                if (m.matches()) {
                    layers = Math.max(layers, Integer.parseInt(m.group(1)) + 1);
                }
            }
            return layers;
        }

        /** @return H, the width of the word embeddings */
        public int hiddenSize() {
            return Math.toIntExact(require("embeddings.word_embeddings.weight").shape()[1]);
        }

        /** @return F, the width of the feed-forward layer */
        public int intermediateSize() {
            return Math.toIntExact(require("encoder.layer.0.intermediate.dense.bias").shape()[0]);
        }

        /** @return the source's position embeddings */
        public int maxPositions() {
            return Math.toIntExact(require("embeddings.position_embeddings.weight").shape()[0]);
        }

        /** @return the source's token types */
        public int typeVocabSize() {
            return Math.toIntExact(require("embeddings.token_type_embeddings.weight").shape()[0]);
        }

        Tensor require(final String name) {
            final Tensor t = tensors.get(name);
            if (t == null) {
                throw new IllegalArgumentException("the source has no " + name + ": it is not a BERT encoder"
                        + " exported the Hugging Face way (found " + tensors.size() + " tensors)");
            }
            return t;
        }
    }

    /**
     * Reads a source: an ONNX file, a jar or zip holding one, or a Hugging Face directory.
     *
     * @param path the source
     * @return its tensors and vocabulary
     * @throws IOException when it cannot be read
     */
    public static Source read(final Path path) throws IOException {
        if (Files.isDirectory(path)) {
            return readDirectory(path);
        }
        final String name = path.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".jar") || name.endsWith(".zip")) {
            return readArchive(path);
        }
        if (name.endsWith(".onnx")) {
            final Path dir = path.toAbsolutePath().getParent();
            return new Source(fromOnnx(Files.readAllBytes(path), path.toString()), vocabBeside(dir));
        }
        throw new IllegalArgumentException(path + " is not a source to import: give an .onnx file, a jar or zip"
                + " holding one, or a Hugging Face model directory (model.safetensors + vocab.txt or tokenizer.json)");
    }

    private static Source readArchive(final Path path) throws IOException {
        try (ZipFile zip = new ZipFile(path.toFile())) {
            ZipEntry onnx = null;
            ZipEntry tokenizer = null;
            ZipEntry vocab = null;
            for (final ZipEntry e : Collections.list(zip.entries())) {
                final String n = e.getName().toLowerCase(Locale.ROOT);
                if (n.endsWith(".onnx")) {
                    if (onnx != null) {
                        throw new IllegalArgumentException(path + " holds more than one .onnx file (" + onnx.getName()
                                + ", " + e.getName() + "); extract the one to import and pass it");
                    }
                    onnx = e;
                } else if (n.endsWith("tokenizer.json")) {
                    tokenizer = e;
                } else if (n.endsWith("vocab.txt")) {
                    vocab = e;
                }
            }
            if (onnx == null) {
                throw new IllegalArgumentException(path + " holds no .onnx file");
            }
            final List<String> tokens;
            if (tokenizer != null) {
                tokens = vocabFromTokenizerJson(read(zip, tokenizer));
            } else if (vocab != null) {
                tokens = read(zip, vocab).lines().toList();
            } else {
                throw new IllegalArgumentException(path + " holds no tokenizer.json or vocab.txt beside " + onnx.getName());
            }
            final byte[] model;
            try (InputStream in = zip.getInputStream(onnx)) {
                model = in.readAllBytes();
            }
            return new Source(fromOnnx(model, path + "!" + onnx.getName()), tokens);
        }
    }

    private static String read(final ZipFile zip, final ZipEntry entry) throws IOException {
        try (InputStream in = zip.getInputStream(entry)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static Source readDirectory(final Path dir) throws IOException {
        final Path weights = dir.resolve("model.safetensors");
        if (!Files.isRegularFile(weights)) {
            throw new IllegalArgumentException(dir + " has no model.safetensors; give a directory with one, or an"
                    + " .onnx file, or a jar holding one");
        }
        final Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (final Map.Entry<String, Tensor> e : SafeTensors.read(weights).tensors().entrySet()) {
            final String name = e.getKey().startsWith("bert.") ? e.getKey().substring("bert.".length()) : e.getKey();
            tensors.put(name, Tensor.ofFloats(e.getValue().shape(), e.getValue().toFloats()));
        }
        return new Source(tensors, vocabBeside(dir));
    }

    private static List<String> vocabBeside(final Path dir) throws IOException {
        if (Files.isRegularFile(dir.resolve("tokenizer.json"))) {
            return vocabFromTokenizerJson(Files.readString(dir.resolve("tokenizer.json"), StandardCharsets.UTF_8));
        }
        if (Files.isRegularFile(dir.resolve("vocab.txt"))) {
            return Files.readAllLines(dir.resolve("vocab.txt"), StandardCharsets.UTF_8);
        }
        throw new IllegalArgumentException("no tokenizer.json or vocab.txt in " + dir + " beside the weights");
    }

    /**
     * @param json a Hugging Face tokenizer.json with a WordPiece model
     * @return its tokens in id order
     */
    static List<String> vocabFromTokenizerJson(final String json) {
        final JsonObject model = JsonParser.parseString(json).getAsJsonObject().getAsJsonObject("model");
        if (model == null || !"WordPiece".equals(model.get("type").getAsString())) {
            throw new IllegalArgumentException("the source's tokenizer.json is not a WordPiece tokenizer (BERT's)");
        }
        final TreeMap<Integer, String> byId = new TreeMap<>();
        for (final Map.Entry<String, com.google.gson.JsonElement> e : model.getAsJsonObject("vocab").entrySet()) {
            byId.put(e.getValue().getAsInt(), e.getKey());
        }
        if (byId.firstKey() != 0 || byId.lastKey() != byId.size() - 1) {
            throw new IllegalArgumentException("the source's vocabulary ids are not 0.." + (byId.size() - 1));
        }
        return List.copyOf(byId.values());
    }

    /**
     * The encoder's tensors of a Hugging Face ONNX export.
     *
     * @param bytes the ONNX file
     * @param what where it came from, for errors
     * @return tensors under BertModel names, linear weights as [out, in]
     * @throws IOException when it is not an ONNX model
     */
    static Map<String, Tensor> fromOnnx(final byte[] bytes, final String what) throws IOException {
        final ModelProto model;
        try {
            final CodedInputStream coded = CodedInputStream.newInstance(bytes);
            coded.setSizeLimit(Integer.MAX_VALUE);
            model = ModelProto.parseFrom(coded);
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new IOException(what + " is not an ONNX model: " + e.getMessage(), e);
        }
        final GraphProto graph = model.getGraph();
        final Map<String, TensorProto> initializers = new HashMap<>();
        for (final TensorProto t : graph.getInitializerList()) {
            initializers.put(t.getName(), t);
        }
        final Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (final TensorProto t : graph.getInitializerList()) {
            if (t.getDataType() == TensorProto.DataType.FLOAT_VALUE && t.getName().matches("(bert\\.)?(embeddings|encoder|pooler)\\..*")) {
                final String name = t.getName().startsWith("bert.") ? t.getName().substring(5) : t.getName();
                tensors.put(name, Tensor.ofFloats(dims(t), floats(t, what)));
            }
        }
        for (final NodeProto node : graph.getNodeList()) {
            final Matcher m = MATMUL.matcher(node.getName());
            if (!node.getOpType().equals("MatMul") || !m.matches()) {
                continue;
            }
            final TensorProto weight = initializers.get(node.getInput(1));
            if (weight == null) {
                throw new IllegalArgumentException(what + ": the weight of " + node.getName()
                        + " is not an initializer (a quantized or folded export?); export the fp32 model");
            }
            final long[] shape = dims(weight);
            final float[] transposed = transpose(floats(weight, what), (int) shape[0], (int) shape[1]);
            tensors.put("encoder.layer." + m.group(1) + "." + m.group(2).replace('/', '.') + ".weight",
                    Tensor.ofFloats(new long[] {shape[1], shape[0]}, transposed));
        }
        return tensors;
    }

    private static long[] dims(final TensorProto t) {
        return t.getDimsList().stream().mapToLong(Long::longValue).toArray();
    }

    private static float[] floats(final TensorProto t, final String what) {
        if (t.getDataType() != TensorProto.DataType.FLOAT_VALUE) {
            throw new IllegalArgumentException(what + ": " + t.getName() + " is not fp32; export the fp32 model");
        }
        if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
            throw new IllegalArgumentException(what + ": " + t.getName() + " is stored outside the ONNX file"
                    + " (external data); save the model with its weights inside");
        }
        if (!t.getRawData().isEmpty()) {
            final float[] out = new float[t.getRawData().size() / Float.BYTES];
            t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
            return out;
        }
        final float[] out = new float[t.getFloatDataCount()];
        for (int i = 0; i < out.length; i++) {
            out[i] = t.getFloatData(i);
        }
        return out;
    }

    static float[] transpose(final float[] values, final int rows, final int cols) {
        final float[] out = new float[values.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                out[c * rows + r] = values[r * cols + c];
            }
        }
        return out;
    }

    /**
     * The source tokens to keep, in the new id order: the special tokens first (ids 0 to 4, as
     * {@link TokenizerFiles#SPECIAL_TOKENS}), then every token of {@code always}, then the most
     * frequent of {@code counts} until {@code size} tokens; {@code size} 0 keeps the whole vocabulary.
     * Keeping every token a corpus's tokenization produced leaves that corpus's tokenization
     * unchanged (WordPiece matches the longest piece in the vocabulary, and every piece it matched
     * is still there); other text falls back to shorter pieces.
     *
     * @param vocab the source's tokens in id order
     * @param counts how often the corpus used each source id
     * @param always source ids to keep whatever their count (single characters, say)
     * @param size the tokens to keep, 0 for all
     * @return source ids in the new order
     */
    public static int[] keptTokens(final List<String> vocab, final long[] counts, final Collection<Integer> always,
            final int size) {
        final LinkedHashSet<Integer> kept = new LinkedHashSet<>();
        for (final String special : TokenizerFiles.SPECIAL_TOKENS) {
            final int id = vocab.indexOf(special);
            if (id < 0) {
                throw new IllegalArgumentException("the source's vocabulary has no " + special + " token");
            }
            kept.add(id);
        }
        if (size <= 0) {
            for (int id = 0; id < vocab.size(); id++) {
                kept.add(id);
            }
        } else {
            if (size < kept.size() + always.size()) {
                throw new IllegalArgumentException("--vocab-size " + size + " is smaller than the " + (kept.size()
                        + always.size()) + " tokens always kept (the special tokens and single characters)");
            }
            kept.addAll(always);
            final List<Integer> byCount = new ArrayList<>();
            for (int id = 0; id < vocab.size(); id++) {
                if (counts[id] > 0) {
                    byCount.add(id);
                }
            }
            byCount.sort((a, b) -> counts[b] != counts[a] ? Long.compare(counts[b], counts[a]) : Integer.compare(a, b));
            for (final int id : byCount) {
                if (kept.size() >= size) {
                    break;
                }
                kept.add(id);
            }
        }
        return kept.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * @param vocab the source's tokens in id order
     * @return every source id, the special tokens first ({@link #keptTokens} with size 0)
     */
    public static int[] everyToken(final List<String> vocab) {
        return keptTokens(vocab, new long[vocab.size()], Set.of(), 0);
    }

    /**
     * Source ids of single-character tokens (with or without {@code ##}) of the Latin scripts, kept
     * so that words a corpus did not show still split into pieces rather than [UNK].
     *
     * @param vocab the source's tokens in id order
     * @return their ids
     */
    public static Set<Integer> latinCharacters(final List<String> vocab) {
        final Set<Integer> ids = new LinkedHashSet<>();
        for (int id = 0; id < vocab.size(); id++) {
            final String t = vocab.get(id).startsWith(TokenizerFiles.CONTINUATION)
                    ? vocab.get(id).substring(TokenizerFiles.CONTINUATION.length()) : vocab.get(id);
            if (t.codePointCount(0, t.length()) == 1 && t.codePointAt(0) < 0x250) {
                ids.add(id);
            }
        }
        return ids;
    }

    /**
     * The source as a not-shared model of this project.
     *
     * @param source the source
     * @param heads the source's attention heads (its config.json's num_attention_heads)
     * @param activation the source's hidden_act
     * @param kept source token ids in the new id order ({@link #keptTokens})
     * @param maxPositions the positions to keep, at most the source's
     * @param labels the classifier's labels
     * @param seed the seed of the pooler and classifier when the source has none
     * @return the checkpoint
     */
    public static Checkpoint toCheckpoint(final Source source, final int heads, final Activation activation,
            final int[] kept, final int maxPositions, final List<String> labels, final long seed) {
        final int h = source.hiddenSize();
        if (maxPositions > source.maxPositions()) {
            throw new IllegalArgumentException("--max-positions " + maxPositions + " is more than the source's "
                    + source.maxPositions());
        }
        final int layers = source.layers();
        final ModelConfig config = new ModelConfig(kept.length, h, h, layers, heads, heads, source.intermediateSize(),
                maxPositions, source.typeVocabSize(), activation, 1e-12, false, SharingPlan.NONE, labels);
        final Map<String, Tensor> tensors = new LinkedHashMap<>(Checkpoint.random(config, seed).tensors());
        final float[] words = source.require("embeddings.word_embeddings.weight").toFloats();
        final float[] keptWords = new float[kept.length * h];
        for (int i = 0; i < kept.length; i++) {
            System.arraycopy(words, kept[i] * h, keptWords, i * h, h);
        }
        tensors.put(ParameterLayout.WORD_EMBEDDINGS, Tensor.ofFloats(new long[] {kept.length, h}, keptWords));
        final float[] positions = source.require("embeddings.position_embeddings.weight").toFloats();
        tensors.put(ParameterLayout.POSITION_EMBEDDINGS, Tensor.ofFloats(new long[] {maxPositions, h},
                Arrays.copyOf(positions, maxPositions * h)));
        tensors.put(ParameterLayout.TOKEN_TYPE_EMBEDDINGS, source.require("embeddings.token_type_embeddings.weight"));
        for (final String p : List.of("weight", "bias")) {
            tensors.put(ParameterLayout.EMBEDDING_NORM + "." + p, source.require("embeddings.LayerNorm." + p));
            if (source.tensors().containsKey("pooler.dense." + p)) {
                tensors.put(ParameterLayout.POOLER_PREFIX + "." + p, source.require("pooler.dense." + p));
            }
        }
        for (int layer = 0; layer < layers; layer++) {
            for (final Map.Entry<String, String> e : LAYER_NAMES.entrySet()) {
                final String albert = e.getValue();
                final boolean attention = albert.startsWith("attention.");
                final String prefix = attention ? ParameterLayout.attentionPrefix(config, layer)
                        : ParameterLayout.ffnPrefix(config, layer);
                for (final String p : List.of("weight", "bias")) {
                    final String from = "encoder.layer." + layer + "." + e.getKey() + "." + p;
                    final Tensor t = source.require(from);
                    final Tensor expected = tensors.get(prefix + albert + "." + p);
                    if (!Arrays.equals(t.shape(), expected.shape())) {
                        throw new IllegalArgumentException(from + " has shape " + Arrays.toString(t.shape())
                                + " where " + Arrays.toString(expected.shape()) + " was expected");
                    }
                    tensors.put(prefix + albert + "." + p, t);
                }
            }
        }
        return new Checkpoint(config, tensors);
    }

    /**
     * Writes the kept tokens as this project's tokenizer files (tokenizer.json and vocab.txt).
     *
     * @param dir the model directory
     * @param vocab the source's tokens in id order
     * @param kept source ids in the new order
     * @throws IOException when the files cannot be written
     */
    public static void writeTokenizer(final Path dir, final List<String> vocab, final int[] kept) throws IOException {
        final List<String> tokens = new ArrayList<>(kept.length);
        for (final int id : kept) {
            tokens.add(vocab.get(id));
        }
        TokenizerFiles.write(dir, tokens);
    }
}
