package dev.streamformer.model;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;

/**
 * The tensors a config needs and their names. Where the plan is expressible in Hugging Face ALBERT
 * the names are ALBERT's ({@code albert.encoder.albert_layer_groups.{g}.albert_layers.0.*}), so an
 * ALBERT checkpoint loads unchanged; otherwise attention and feed-forward sets are stored under
 * {@code albert.encoder.attention_sets.{s}.*} and {@code albert.encoder.ffn_sets.{s}.*} with the
 * same sub-names. Every set is listed once, however many layers use it. A relaxed config
 * ({@link ModelConfig#relaxRank()} r &gt; 0) adds, for every layer whose set another layer shares,
 * a delta per weight matrix of that set: {@code albert.encoder.layer_deltas.{layer}.{matrix}.lora_A}
 * [r, in] and {@code .lora_B} [out, r], with {matrix} one of {@link #ATTENTION_MATRICES} and
 * {@link #FFN_MATRICES}; and a full-size difference for each bias and LayerNorm vector of the set,
 * {@code albert.encoder.layer_deltas.{layer}.{same sub-name as in the set}} (for example
 * {@code .attention.query.bias}, {@code .full_layer_layer_norm.weight}). The layer computes
 * x (W + B A)^T + (b + delta b), and its LayerNorms use gain + delta and bias + delta.
 */
public final class ParameterLayout {

    /** Component of the token, position and segment embeddings and their LayerNorm. */
    public static final String EMBEDDINGS = "embeddings";
    /** Component of the E to H projection. */
    public static final String PROJECTION = "projection";
    /** Component of the pooler. */
    public static final String POOLER = "pooler";
    /** Component of the classification head. */
    public static final String CLASSIFIER = "classifier";
    /** Name prefix of the exit heads of {@link ExitHeads#PER_LAYER}: {@code streamformer.exits.<layer>.}. */
    public static final String EXITS = "streamformer.exits.";

    /** Tensor name (or name prefix) in the Hugging Face ALBERT layout. */
    public static final String WORD_EMBEDDINGS = "albert.embeddings.word_embeddings.weight";
    /** Tensor name (or name prefix) in the Hugging Face ALBERT layout. */
    public static final String POSITION_EMBEDDINGS = "albert.embeddings.position_embeddings.weight";
    /** Tensor name (or name prefix) in the Hugging Face ALBERT layout. */
    public static final String TOKEN_TYPE_EMBEDDINGS = "albert.embeddings.token_type_embeddings.weight";
    /** Tensor name (or name prefix) in the Hugging Face ALBERT layout. */
    public static final String EMBEDDING_NORM = "albert.embeddings.LayerNorm";
    /** Tensor name (or name prefix) in the Hugging Face ALBERT layout. */
    public static final String PROJECTION_PREFIX = "albert.encoder.embedding_hidden_mapping_in";
    /** Tensor name (or name prefix) in the Hugging Face ALBERT layout. */
    public static final String POOLER_PREFIX = "albert.pooler";
    /** Tensor name (or name prefix) in the Hugging Face ALBERT layout. */
    public static final String CLASSIFIER_PREFIX = "classifier";

    /** Name prefix of every delta of relaxed sharing. */
    public static final String DELTAS = "albert.encoder.layer_deltas.";
    /** Suffix of a delta's [r, in] factor. */
    public static final String DELTA_A = ".lora_A";
    /** Suffix of a delta's [out, r] factor. */
    public static final String DELTA_B = ".lora_B";
    /** Sub-names of an attention set's weight matrices, under the set's prefix. */
    public static final List<String> ATTENTION_MATRICES = List.of("attention.query", "attention.key",
            "attention.value", "attention.dense");
    /** Sub-names of a feed-forward set's weight matrices, under the set's prefix. */
    public static final List<String> FFN_MATRICES = List.of("ffn", "ffn_output");
    /** Sub-name of an attention set's LayerNorm. */
    public static final String ATTENTION_NORM = "attention.LayerNorm";
    /** Sub-name of a feed-forward set's LayerNorm. */
    public static final String FFN_NORM = "full_layer_layer_norm";

    private ParameterLayout() {
    }

    /**
     * The name prefix of a layer's deltas, ending in a dot.
     *
     * @param layer the layer
     * @return the prefix
     */
    public static String deltaPrefix(final int layer) {
        return DELTAS + layer + ".";
    }

    /**
     * @param layer a layer
     * @return the component name of that layer's deltas, for example {@code delta[3]}
     */
    public static String deltaComponent(final int layer) {
        return "delta[" + layer + "]";
    }

    /**
     * The rank of a delta on an [out, in] matrix: r, capped at min(out, in), where it is exact.
     *
     * @param config the config
     * @param out rows
     * @param in columns
     * @return the rank
     */
    public static int deltaRank(final ModelConfig config, final long out, final long in) {
        return (int) Math.min(config.relaxRank(), Math.min(out, in));
    }

    /**
     * The [out, in] shape of a weight matrix of a set.
     *
     * @param c the config
     * @param matrix one of {@link #ATTENTION_MATRICES} or {@link #FFN_MATRICES}
     * @return {out, in}
     */
    public static long[] matrixShape(final ModelConfig c, final String matrix) {
        final long h = c.hiddenSize();
        final long q = c.attentionSize();
        final long kv = (long) c.numKeyValueHeads() * c.headSize();
        return switch (matrix) {
            case "attention.query" -> new long[] {q, h};
            case "attention.key", "attention.value" -> new long[] {kv, h};
            case "attention.dense" -> new long[] {h, q};
            case "ffn" -> new long[] {c.intermediateSize(), h};
            case "ffn_output" -> new long[] {h, c.intermediateSize()};
            default -> throw new IllegalArgumentException("not a weight matrix of a set: " + matrix);
        };
    }

    /**
     * The vectors of a layer that carry a full-size delta: the biases of its relaxed matrices and
     * the gains and biases of their sets' LayerNorms, as sub-names (for example
     * {@code attention.query.bias}) under the set's or the layer's delta prefix.
     *
     * @param c the config
     * @param layer the layer
     * @return sub-names
     */
    public static List<String> relaxedVectors(final ModelConfig c, final int layer) {
        final List<String> out = new ArrayList<>();
        for (final String m : relaxedMatrices(c, layer)) {
            out.add(m + ".bias");
        }
        for (final String norm : relaxedNorms(c, layer)) {
            out.add(norm + ".weight");
            out.add(norm + ".bias");
        }
        return out;
    }

    private static List<String> relaxedNorms(final ModelConfig c, final int layer) {
        final List<String> out = new ArrayList<>();
        if (c.relaxedAttention(layer)) {
            out.add(ATTENTION_NORM);
        }
        if (c.relaxedFfn(layer)) {
            out.add(FFN_NORM);
        }
        return out;
    }

    /**
     * The matrices of a layer that carry a delta: its attention matrices when its attention set is
     * shared and relaxed, its feed-forward matrices likewise.
     *
     * @param c the config
     * @param layer the layer
     * @return sub-names from {@link #ATTENTION_MATRICES} and {@link #FFN_MATRICES}
     */
    public static List<String> relaxedMatrices(final ModelConfig c, final int layer) {
        final List<String> out = new ArrayList<>();
        if (c.relaxedAttention(layer)) {
            out.addAll(ATTENTION_MATRICES);
        }
        if (c.relaxedFfn(layer)) {
            out.addAll(FFN_MATRICES);
        }
        return out;
    }

    /**
     * The name prefix of an attention set, ending in a dot.
     *
     * @param config the config
     * @param set the set index
     * @return the prefix
     */
    public static String attentionPrefix(final ModelConfig config, final int set) {
        final OptionalInt albert = config.albertGroups();
        return albert.isPresent()
                ? "albert.encoder.albert_layer_groups." + set + ".albert_layers.0."
                : "albert.encoder.attention_sets." + set + ".";
    }

    /**
     * The name prefix of a feed-forward set, ending in a dot.
     *
     * @param config the config
     * @param set the set index
     * @return the prefix
     */
    public static String ffnPrefix(final ModelConfig config, final int set) {
        final OptionalInt albert = config.albertGroups();
        return albert.isPresent()
                ? "albert.encoder.albert_layer_groups." + set + ".albert_layers.0."
                : "albert.encoder.ffn_sets." + set + ".";
    }

    /**
     * @param set a set index
     * @return the component name of that attention set, for example {@code attention[A]}
     */
    public static String attentionComponent(final int set) {
        return "attention[" + SharingPlan.letters(new int[] {set}) + "]";
    }

    /**
     * @param set a set index
     * @return the component name of that feed-forward set, for example {@code ffn[A]}
     */
    public static String ffnComponent(final int set) {
        return "ffn[" + SharingPlan.letters(new int[] {set}) + "]";
    }

    /**
     * Every tensor the config needs, each once.
     *
     * @param c the config
     * @return the specs in a stable order: embeddings, projection, attention sets, feed-forward
     *     sets, pooler, classifier
     */
    public static List<ParameterSpec> of(final ModelConfig c) {
        final long v = c.vocabSize();
        final long e = c.embeddingSize();
        final long h = c.hiddenSize();
        final List<ParameterSpec> specs = new ArrayList<>();
        specs.add(new ParameterSpec(WORD_EMBEDDINGS, new long[] {v, e}, EMBEDDINGS));
        specs.add(new ParameterSpec(POSITION_EMBEDDINGS, new long[] {c.maxPositions(), e}, EMBEDDINGS));
        specs.add(new ParameterSpec(TOKEN_TYPE_EMBEDDINGS, new long[] {c.typeVocabSize(), e}, EMBEDDINGS));
        addNorm(specs, EMBEDDING_NORM, e, EMBEDDINGS);
        if (c.embeddingProjection()) {
            addLinear(specs, PROJECTION_PREFIX, h, e, PROJECTION);
        }
        for (int s = 0; s < c.attentionSets(); s++) {
            final String component = attentionComponent(s);
            for (final String m : ATTENTION_MATRICES) {
                final long[] shape = matrixShape(c, m);
                addLinear(specs, attentionPrefix(c, s) + m, shape[0], shape[1], component);
            }
            addNorm(specs, attentionPrefix(c, s) + ATTENTION_NORM, h, component);
        }
        for (int s = 0; s < c.ffnSets(); s++) {
            final String component = ffnComponent(s);
            for (final String m : FFN_MATRICES) {
                final long[] shape = matrixShape(c, m);
                addLinear(specs, ffnPrefix(c, s) + m, shape[0], shape[1], component);
            }
            addNorm(specs, ffnPrefix(c, s) + FFN_NORM, h, component);
        }
        for (int layer = 0; layer < c.numLayers(); layer++) {
            for (final String m : relaxedMatrices(c, layer)) {
                final long[] shape = matrixShape(c, m);
                final long r = deltaRank(c, shape[0], shape[1]);
                specs.add(new ParameterSpec(deltaPrefix(layer) + m + DELTA_A, new long[] {r, shape[1]},
                        deltaComponent(layer)));
                specs.add(new ParameterSpec(deltaPrefix(layer) + m + DELTA_B, new long[] {shape[0], r},
                        deltaComponent(layer)));
            }
            for (final String vector : relaxedVectors(c, layer)) {
                final long size = vector.endsWith(".bias") && !vector.startsWith(ATTENTION_NORM) && !vector.startsWith(FFN_NORM)
                        ? matrixShape(c, vector.substring(0, vector.length() - ".bias".length()))[0] : h;
                specs.add(new ParameterSpec(deltaPrefix(layer) + vector, new long[] {size}, deltaComponent(layer)));
            }
        }
        addLinear(specs, POOLER_PREFIX, h, h, POOLER);
        addLinear(specs, CLASSIFIER_PREFIX, c.numLabels(), h, CLASSIFIER);
        if (c.exits() == ExitHeads.PER_LAYER) {
            for (int layer = 0; layer < c.numLayers() - 1; layer++) {
                addLinear(specs, poolerPrefix(c, layer), h, h, exitComponent(layer));
                addLinear(specs, classifierPrefix(c, layer), c.numLabels(), h, exitComponent(layer));
            }
        }
        return specs;
    }

    /**
     * @param c the config
     * @param layer a layer (0-based)
     * @return the name prefix of the pooler that reads the state after that layer
     */
    public static String poolerPrefix(final ModelConfig c, final int layer) {
        return ownExit(c, layer) ? EXITS + layer + ".pooler" : POOLER_PREFIX;
    }

    /**
     * @param c the config
     * @param layer a layer (0-based)
     * @return the name prefix of the classifier that reads the state after that layer
     */
    public static String classifierPrefix(final ModelConfig c, final int layer) {
        return ownExit(c, layer) ? EXITS + layer + ".classifier" : CLASSIFIER_PREFIX;
    }

    /**
     * @param layer a layer (0-based)
     * @return the component name of its own exit head, for example {@code exit[2]}
     */
    public static String exitComponent(final int layer) {
        return "exit[" + (layer + 1) + "]";
    }

    private static boolean ownExit(final ModelConfig c, final int layer) {
        return c.exits() == ExitHeads.PER_LAYER && layer < c.numLayers() - 1;
    }

    private static void addLinear(final List<ParameterSpec> specs, final String prefix, final long out,
            final long in, final String component) {
        specs.add(new ParameterSpec(prefix + ".weight", new long[] {out, in}, component));
        specs.add(new ParameterSpec(prefix + ".bias", new long[] {out}, component));
    }

    private static void addNorm(final List<ParameterSpec> specs, final String prefix, final long size,
            final String component) {
        specs.add(new ParameterSpec(prefix + ".weight", new long[] {size}, component));
        specs.add(new ParameterSpec(prefix + ".bias", new long[] {size}, component));
    }
}
