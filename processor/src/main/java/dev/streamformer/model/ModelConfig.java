package dev.streamformer.model;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;

import dev.streamformer.schemas.internals.NearestName;

/**
 * The architecture of a shared-parameter encoder, read from and written to {@code config.json} in
 * the Hugging Face ALBERT format.
 *
 * <p>Plans that ALBERT cannot express (attention-only or feed-forward-only sharing, cycle layouts,
 * grouped key/value heads, no E to H projection) live in an extension object under the key
 * {@code "streamformer"}, which the Hugging Face library ignores:
 * <pre>
 * "streamformer": {
 *   "attention_sharing": "cycle", "attention_groups": 3,
 *   "ffn_sharing": "cycle", "ffn_groups": 3,
 *   "num_key_value_heads": 4,
 *   "embedding_projection": true,
 *   "relax_rank": 16
 * }
 * </pre>
 * {@code relax_rank} r (absent or 0: none) makes the sharing relaxed: every layer whose attention
 * or feed-forward set is used by more than one layer adds its own rank-r delta B A to each of that
 * set's weight matrices (Bae et al. 2025, Relaxed Recursive Transformers), stored as
 * {@code albert.encoder.layer_deltas.{layer}.{matrix}.lora_A} [r, in] and {@code .lora_B} [out, r]
 * ({@link ParameterLayout#deltaPrefix}); r is capped at min(out, in) per matrix.
 * Without the extension the plan is ALBERT's: {@code num_hidden_groups} groups of consecutive
 * layers, every head with its own key and value, and an embedding projection.
 *
 * @param vocabSize V, the number of token ids
 * @param embeddingSize E
 * @param hiddenSize H
 * @param numLayers L
 * @param numHeads A, query heads per layer
 * @param numKeyValueHeads G, key/value heads per layer (G divides A; G = A means no sharing)
 * @param intermediateSize F, the feed-forward width
 * @param maxPositions the longest sequence the position embeddings cover
 * @param typeVocabSize the number of segment ids
 * @param activation the feed-forward activation
 * @param layerNormEps epsilon of every LayerNorm
 * @param embeddingProjection whether an E to H projection follows the embeddings
 * @param plan which parameter set each layer uses
 * @param labels the label of every class, by index
 * @param headSize size of one attention head; H / A unless heads were pruned (0 = H / A)
 * @param relaxRank rank of the per-layer deltas on shared matrices (0 = plain sharing)
 * @param exits the classifiers read after each layer, for early exit ({@link ExitHeads#NONE}: none)
 */
public record ModelConfig(
        int vocabSize,
        int embeddingSize,
        int hiddenSize,
        int numLayers,
        int numHeads,
        int numKeyValueHeads,
        int intermediateSize,
        int maxPositions,
        int typeVocabSize,
        Activation activation,
        double layerNormEps,
        boolean embeddingProjection,
        SharingPlan plan,
        List<String> labels,
        int headSize,
        int relaxRank,
        ExitHeads exits) {


    private static final String EXTENSION = "streamformer";
    /** Keys of the extension block; the layer maps are written for people and ignored when read. */
    private static final Set<String> EXTENSION_KEYS = Set.of("attention_sharing", "attention_groups", "ffn_sharing",
            "ffn_groups", "num_key_value_heads", "attention_head_size", "embedding_projection", "attention_layer_map",
            "ffn_layer_map", "relax_rank", "exits", ExitPolicy.CONFIG_KEY);
    /**
     * Keys of a Hugging Face ALBERT (or BERT) config.json. Other keys are allowed (configs carry many),
     * but one within two edits of a known key is taken for a misspelling of it.
     */
    private static final Set<String> KNOWN_KEYS = Set.of("vocab_size", "embedding_size", "hidden_size",
            "num_hidden_layers", "num_attention_heads", "intermediate_size", "max_position_embeddings",
            "type_vocab_size", "hidden_act", "layer_norm_eps", "num_hidden_groups", "inner_group_num", "id2label",
            "label2id", "num_labels", "position_embedding_type", "hidden_dropout_prob", "attention_probs_dropout_prob",
            "classifier_dropout_prob", "initializer_range", "model_type", "architectures", "torch_dtype",
            "transformers_version", "pad_token_id", "bos_token_id", "eos_token_id", "problem_type", EXTENSION);
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();

    /**
     * A config whose head size is H / A.
     *
     * @param vocabSize V
     * @param embeddingSize E
     * @param hiddenSize H
     * @param numLayers L
     * @param numHeads A
     * @param numKeyValueHeads G
     * @param intermediateSize F
     * @param maxPositions longest sequence
     * @param typeVocabSize segment ids
     * @param activation feed-forward activation
     * @param layerNormEps LayerNorm epsilon
     * @param embeddingProjection whether E is projected to H
     * @param plan the sharing plan
     * @param labels the labels
     */
    public ModelConfig(final int vocabSize, final int embeddingSize, final int hiddenSize, final int numLayers,
            final int numHeads, final int numKeyValueHeads, final int intermediateSize, final int maxPositions,
            final int typeVocabSize, final Activation activation, final double layerNormEps,
            final boolean embeddingProjection, final SharingPlan plan, final List<String> labels) {
        this(vocabSize, embeddingSize, hiddenSize, numLayers, numHeads, numKeyValueHeads, intermediateSize, maxPositions,
                typeVocabSize, activation, layerNormEps, embeddingProjection, plan, labels, 0, 0);
    }

    /**
     * A config without relaxed sharing.
     *
     * @param vocabSize V
     * @param embeddingSize E
     * @param hiddenSize H
     * @param numLayers L
     * @param numHeads A
     * @param numKeyValueHeads G
     * @param intermediateSize F
     * @param maxPositions longest sequence
     * @param typeVocabSize segment ids
     * @param activation feed-forward activation
     * @param layerNormEps LayerNorm epsilon
     * @param embeddingProjection whether E is projected to H
     * @param plan the sharing plan
     * @param labels the labels
     * @param headSize the head size (0 = H / A)
     */
    public ModelConfig(final int vocabSize, final int embeddingSize, final int hiddenSize, final int numLayers,
            final int numHeads, final int numKeyValueHeads, final int intermediateSize, final int maxPositions,
            final int typeVocabSize, final Activation activation, final double layerNormEps,
            final boolean embeddingProjection, final SharingPlan plan, final List<String> labels, final int headSize) {
        this(vocabSize, embeddingSize, hiddenSize, numLayers, numHeads, numKeyValueHeads, intermediateSize, maxPositions,
                typeVocabSize, activation, layerNormEps, embeddingProjection, plan, labels, headSize, 0);
    }

    /**
     * A config without early exits.
     *
     * @param vocabSize V
     * @param embeddingSize E
     * @param hiddenSize H
     * @param numLayers L
     * @param numHeads A
     * @param numKeyValueHeads G
     * @param intermediateSize F
     * @param maxPositions longest sequence
     * @param typeVocabSize segment ids
     * @param activation feed-forward activation
     * @param layerNormEps LayerNorm epsilon
     * @param embeddingProjection whether E is projected to H
     * @param plan the sharing plan
     * @param labels the labels
     * @param headSize size of one attention head (0 = H / A)
     * @param relaxRank rank of the per-layer deltas (0 = plain sharing)
     */
    public ModelConfig(final int vocabSize, final int embeddingSize, final int hiddenSize, final int numLayers,
            final int numHeads, final int numKeyValueHeads, final int intermediateSize, final int maxPositions,
            final int typeVocabSize, final Activation activation, final double layerNormEps,
            final boolean embeddingProjection, final SharingPlan plan, final List<String> labels, final int headSize,
            final int relaxRank) {
        this(vocabSize, embeddingSize, hiddenSize, numLayers, numHeads, numKeyValueHeads, intermediateSize, maxPositions,
                typeVocabSize, activation, layerNormEps, embeddingProjection, plan, labels, headSize, relaxRank,
                ExitHeads.NONE);
    }

    /** Validates the dimensions; every problem is reported at once. */
    public ModelConfig {
        labels = List.copyOf(labels);
        exits = exits == null ? ExitHeads.NONE : exits;
        final boolean derivedHeadSize = headSize == 0;
        if (derivedHeadSize && numHeads > 0) {
            headSize = hiddenSize / numHeads;
        }
        final List<String> problems = new ArrayList<>();
        positive(problems, "vocab_size", vocabSize);
        positive(problems, "embedding_size", embeddingSize);
        positive(problems, "hidden_size", hiddenSize);
        positive(problems, "num_hidden_layers", numLayers);
        positive(problems, "num_attention_heads", numHeads);
        positive(problems, "num_key_value_heads", numKeyValueHeads);
        positive(problems, "intermediate_size", intermediateSize);
        positive(problems, "max_position_embeddings", maxPositions);
        positive(problems, "type_vocab_size", typeVocabSize);
        if (derivedHeadSize && numHeads > 0 && hiddenSize % numHeads != 0) {
            problems.add("hidden_size (" + hiddenSize + ") must be a multiple of num_attention_heads (" + numHeads + ")");
        }
        if (numKeyValueHeads > 0 && numHeads % numKeyValueHeads != 0) {
            problems.add("num_attention_heads (" + numHeads + ") must be a multiple of num_key_value_heads ("
                    + numKeyValueHeads + ")");
        }
        if (!embeddingProjection && embeddingSize != hiddenSize) {
            problems.add("embedding_projection=false needs embedding_size == hidden_size (" + embeddingSize
                    + " != " + hiddenSize + ")");
        }
        if (labels.size() < 2) {
            problems.add("id2label must name at least 2 labels, got " + labels.size());
        }
        if (!(layerNormEps > 0)) {
            problems.add("layer_norm_eps must be positive, got " + layerNormEps);
        }
        if (numLayers > 0) {
            try {
                plan.attentionMap(numLayers);
                plan.ffnMap(numLayers);
                if (relaxRank > 0 && !sharesAnySet(plan, numLayers)) {
                    problems.add("relax_rank=" + relaxRank + " needs a plan in which layers share a set ("
                            + plan.describe() + " shares none)");
                }
            } catch (IllegalArgumentException e) {
                problems.add(e.getMessage());
            }
        }
        if (relaxRank < 0) {
            problems.add("relax_rank must be 0 (none) or positive, got " + relaxRank);
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("Invalid model config: " + String.join("; ", problems));
        }
    }

    private static boolean sharesAnySet(final SharingPlan plan, final int layers) {
        return usedTwice(plan.attentionMap(layers)) || usedTwice(plan.ffnMap(layers));
    }

    private static boolean usedTwice(final int[] map) {
        return java.util.Arrays.stream(map).distinct().count() < map.length;
    }

    /**
     * Whether a layer's attention set is shared with another layer and relaxed, so the layer
     * has its own deltas on the attention matrices.
     *
     * @param layer the layer
     * @return true when the layer's attention matrices carry deltas
     */
    public boolean relaxedAttention(final int layer) {
        return relaxRank > 0 && usedByOthers(plan.attentionMap(numLayers), layer);
    }

    /**
     * Whether a layer's feed-forward set is shared with another layer and relaxed.
     *
     * @param layer the layer
     * @return true when the layer's feed-forward matrices carry deltas
     */
    public boolean relaxedFfn(final int layer) {
        return relaxRank > 0 && usedByOthers(plan.ffnMap(numLayers), layer);
    }

    private static boolean usedByOthers(final int[] map, final int layer) {
        for (int i = 0; i < map.length; i++) {
            if (i != layer && map[i] == map[layer]) {
                return true;
            }
        }
        return false;
    }

    private static void positive(final List<String> problems, final String key, final int value) {
        if (value <= 0) {
            problems.add(key + " must be positive, got " + value);
        }
    }

    /** @return the width of all query heads together, A x head size (H unless heads were pruned) */
    public int attentionSize() {
        return numHeads * headSize;
    }

    /** @return the number of classes */
    public int numLabels() {
        return labels.size();
    }

    /** @return the number of distinct attention parameter sets */
    public int attentionSets() {
        return max(plan.attentionMap(numLayers)) + 1;
    }

    /** @return the number of distinct feed-forward parameter sets */
    public int ffnSets() {
        return max(plan.ffnMap(numLayers)) + 1;
    }

    /**
     * The number of ALBERT layer groups when the weights can use the Hugging Face ALBERT names.
     *
     * @return the groups, or empty when the plan needs the extension layout
     */
    public OptionalInt albertGroups() {
        if (numKeyValueHeads != numHeads || !embeddingProjection || attentionSize() != hiddenSize || relaxRank > 0) {
            return OptionalInt.empty();
        }
        return plan.albertGroups(numLayers);
    }

    /**
     * The same architecture with another sharing plan, plainly shared: deltas belong to the plan
     * they relax, so a relaxed config loses them here ({@link #withRelaxRank} adds them back).
     *
     * @param newPlan the plan
     * @return a new config
     */
    public ModelConfig withPlan(final SharingPlan newPlan) {
        return new ModelConfig(vocabSize, embeddingSize, hiddenSize, numLayers, numHeads, numKeyValueHeads,
                intermediateSize, maxPositions, typeVocabSize, activation, layerNormEps, embeddingProjection,
                newPlan, labels, headSize, 0, exits);
    }

    /**
     * The same architecture with G key/value heads per layer.
     *
     * @param kvHeads G
     * @return a new config
     */
    public ModelConfig withKeyValueHeads(final int kvHeads) {
        return new ModelConfig(vocabSize, embeddingSize, hiddenSize, numLayers, numHeads, kvHeads,
                intermediateSize, maxPositions, typeVocabSize, activation, layerNormEps, embeddingProjection,
                plan, labels, headSize, relaxRank, exits);
    }

    /**
     * The same architecture with other attention and feed-forward widths (after pruning).
     *
     * @param heads A
     * @param kvHeads G
     * @param intermediate F
     * @return a new config with the same head size
     */
    public ModelConfig withWidths(final int heads, final int kvHeads, final int intermediate) {
        return new ModelConfig(vocabSize, embeddingSize, hiddenSize, numLayers, heads, kvHeads, intermediate,
                maxPositions, typeVocabSize, activation, layerNormEps, embeddingProjection, plan, labels, headSize,
                relaxRank, exits);
    }

    /**
     * The same architecture with relaxed sharing of rank r (0 = plain sharing).
     *
     * @param rank r
     * @return a new config
     */
    public ModelConfig withRelaxRank(final int rank) {
        return new ModelConfig(vocabSize, embeddingSize, hiddenSize, numLayers, numHeads, numKeyValueHeads,
                intermediateSize, maxPositions, typeVocabSize, activation, layerNormEps, embeddingProjection, plan,
                labels, headSize, rank, exits);
    }

    /**
     * The same architecture with other classifiers read after each layer.
     *
     * @param heads the exit heads
     * @return a new config
     */
    public ModelConfig withExits(final ExitHeads heads) {
        return new ModelConfig(vocabSize, embeddingSize, hiddenSize, numLayers, numHeads, numKeyValueHeads,
                intermediateSize, maxPositions, typeVocabSize, activation, layerNormEps, embeddingProjection, plan,
                labels, headSize, relaxRank, heads);
    }

    private static int max(final int[] values) {
        int m = 0;
        for (final int v : values) {
            m = Math.max(m, v);
        }
        return m;
    }

    /**
     * Reads a config.json file, or the config.json of a model directory.
     *
     * @param path a file or a directory
     * @return the config
     * @throws IOException when the file cannot be read
     */
    public static ModelConfig read(final Path path) throws IOException {
        final Path file = Files.isDirectory(path) ? path.resolve(ModelDirectory.CONFIG) : path;
        if (!Files.exists(path)) {
            throw new IOException("No model directory at " + path.toAbsolutePath() + ": check the path (a model"
                    + " directory holds config.json with model.safetensors or model.onnx; `streamformer model train`"
                    + " or `model import` writes one)");
        }
        if (!Files.isRegularFile(file)) {
            throw new IOException(path + " is not a model directory: it has no " + ModelDirectory.CONFIG + " (a model"
                    + " directory holds config.json with model.safetensors or model.onnx; `streamformer model train`"
                    + " or `model import` writes one)");
        }
        try {
            return fromJson(Files.readString(file, StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Parses config.json text.
     *
     * @param json the text
     * @return the config
     */
    public static ModelConfig fromJson(final String json) {
        final JsonObject o;
        try {
            o = JsonParser.parseString(json).getAsJsonObject();
        } catch (JsonParseException | IllegalStateException e) {
            throw new IllegalArgumentException("config.json is not a JSON object: " + e.getMessage(), e);
        }
        for (final String key : o.keySet()) {
            if (!KNOWN_KEYS.contains(key)) {
                NearestName.within(key, KNOWN_KEYS, 2).ifPresent(near -> {
                    throw new IllegalArgumentException("config.json key '" + key + "' is not known: did you mean '"
                            + near + "'?");
                });
            }
        }
        if (o.has(EXTENSION) && o.get(EXTENSION).isJsonObject()) {
            for (final String key : o.getAsJsonObject(EXTENSION).keySet()) {
                if (!EXTENSION_KEYS.contains(key)) {
                    throw new IllegalArgumentException("config.json key '" + EXTENSION + "." + key + "' is not known:"
                            + " did you mean '" + EXTENSION + "." + NearestName.of(key, EXTENSION_KEYS) + "'?");
                }
            }
        }
        final List<String> missing = new ArrayList<>();
        for (final String key : List.of("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                "intermediate_size")) {
            if (!o.has(key)) {
                missing.add(key);
            }
        }
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException("config.json lacks required keys " + missing);
        }
        final int hidden = o.get("hidden_size").getAsInt();
        final int layers = o.get("num_hidden_layers").getAsInt();
        final int heads = o.get("num_attention_heads").getAsInt();
        final int innerGroups = intOr(o, "inner_group_num", 1);
        if (innerGroups != 1) {
            throw new IllegalArgumentException("inner_group_num=" + innerGroups + " is not supported; use 1");
        }
        final String positionType = o.has("position_embedding_type")
                ? o.get("position_embedding_type").getAsString() : "absolute";
        if (!"absolute".equals(positionType)) {
            throw new IllegalArgumentException("position_embedding_type '" + positionType
                    + "' is not supported; use absolute");
        }
        final JsonObject ext = o.has(EXTENSION) ? o.getAsJsonObject(EXTENSION) : new JsonObject();
        final SharingPlan plan;
        if (ext.has("attention_sharing") || ext.has("ffn_sharing")) {
            plan = new SharingPlan(
                    SharingStrategy.parse(stringOr(ext, "attention_sharing", "none")), intOr(ext, "attention_groups", 1),
                    SharingStrategy.parse(stringOr(ext, "ffn_sharing", "none")), intOr(ext, "ffn_groups", 1));
        } else {
            plan = SharingPlan.both(SharingStrategy.SEQUENCE, intOr(o, "num_hidden_groups", 1));
        }
        return new ModelConfig(
                o.get("vocab_size").getAsInt(),
                intOr(o, "embedding_size", hidden),
                hidden,
                layers,
                heads,
                intOr(ext, "num_key_value_heads", heads),
                o.get("intermediate_size").getAsInt(),
                intOr(o, "max_position_embeddings", 512),
                intOr(o, "type_vocab_size", 2),
                Activation.parse(stringOr(o, "hidden_act", "gelu_new")),
                o.has("layer_norm_eps") ? o.get("layer_norm_eps").getAsDouble() : 1e-12,
                !ext.has("embedding_projection") || ext.get("embedding_projection").getAsBoolean(),
                plan,
                readLabels(o),
                intOr(ext, "attention_head_size", 0),
                intOr(ext, "relax_rank", 0),
                ExitHeads.parse(stringOr(ext, "exits", ExitHeads.NONE.configName())));
    }

    private static List<String> readLabels(final JsonObject o) {
        if (!o.has("id2label")) {
            final int n = intOr(o, "num_labels", 2);
            final List<String> labels = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                labels.add("LABEL_" + i);
            }
            return labels;
        }
        final JsonObject id2label = o.getAsJsonObject("id2label");
        final String[] labels = new String[id2label.size()];
        for (final Map.Entry<String, JsonElement> e : id2label.entrySet()) {
            final int index;
            try {
                index = Integer.parseInt(e.getKey());
            } catch (NumberFormatException ex) {
                throw new IllegalArgumentException("id2label key '" + e.getKey() + "' is not an integer", ex);
            }
            if (index < 0 || index >= labels.length) {
                throw new IllegalArgumentException("id2label indices must be 0.." + (labels.length - 1)
                        + ", found " + index);
            }
            labels[index] = e.getValue().getAsString();
        }
        return List.of(labels);
    }

    private static int intOr(final JsonObject o, final String key, final int fallback) {
        return o.has(key) && !o.get(key).isJsonNull() ? o.get(key).getAsInt() : fallback;
    }

    private static String stringOr(final JsonObject o, final String key, final String fallback) {
        return o.has(key) && !o.get(key).isJsonNull() ? o.get(key).getAsString() : fallback;
    }

    /**
     * Renders config.json: the Hugging Face ALBERT keys, then the extension.
     *
     * @return pretty-printed JSON
     */
    public String toJson() {
        final Map<String, Object> m = new LinkedHashMap<>();
        m.put("architectures", List.of("AlbertForSequenceClassification"));
        m.put("model_type", "albert");
        m.put("vocab_size", vocabSize);
        m.put("embedding_size", embeddingSize);
        m.put("hidden_size", hiddenSize);
        m.put("num_hidden_layers", numLayers);
        m.put("num_attention_heads", numHeads);
        m.put("intermediate_size", intermediateSize);
        m.put("max_position_embeddings", maxPositions);
        m.put("type_vocab_size", typeVocabSize);
        m.put("hidden_act", activation.configName());
        m.put("layer_norm_eps", layerNormEps);
        m.put("num_hidden_groups", albertGroups().orElse(attentionSets()));
        m.put("inner_group_num", 1);
        m.put("hidden_dropout_prob", 0.0);
        m.put("attention_probs_dropout_prob", 0.0);
        m.put("classifier_dropout_prob", 0.0);
        m.put("initializer_range", 0.02);
        m.put("position_embedding_type", "absolute");
        m.put("pad_token_id", 0);
        final Map<String, String> id2label = new LinkedHashMap<>();
        final Map<String, Integer> label2id = new LinkedHashMap<>();
        for (int i = 0; i < labels.size(); i++) {
            id2label.put(Integer.toString(i), labels.get(i));
            label2id.put(labels.get(i), i);
        }
        m.put("id2label", id2label);
        m.put("label2id", label2id);
        final Map<String, Object> ext = new LinkedHashMap<>();
        ext.put("attention_sharing", plan.attention().configName());
        ext.put("attention_groups", plan.attention().sets(numLayers, plan.attentionGroups()));
        ext.put("ffn_sharing", plan.ffn().configName());
        ext.put("ffn_groups", plan.ffn().sets(numLayers, plan.ffnGroups()));
        ext.put("num_key_value_heads", numKeyValueHeads);
        ext.put("attention_head_size", headSize);
        ext.put("embedding_projection", embeddingProjection);
        ext.put("attention_layer_map", SharingPlan.letters(plan.attentionMap(numLayers)));
        ext.put("ffn_layer_map", SharingPlan.letters(plan.ffnMap(numLayers)));
        if (relaxRank > 0) {
            ext.put("relax_rank", relaxRank);
        }
        if (exits != ExitHeads.NONE) {
            ext.put("exits", exits.configName());
        }
        m.put(EXTENSION, ext);
        return GSON.toJson(m) + "\n";
    }
}
