package dev.streamformer.model;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;

/**
 * The tensors a config needs and their names. Where the plan is expressible in Hugging Face ALBERT
 * the names are ALBERT's ({@code albert.encoder.albert_layer_groups.{g}.albert_layers.0.*}), so an
 * ALBERT checkpoint loads unchanged; otherwise attention and feed-forward sets are stored under
 * {@code albert.encoder.attention_sets.{s}.*} and {@code albert.encoder.ffn_sets.{s}.*} with the
 * same sub-names. Every set is listed once, however many layers use it.
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

    private ParameterLayout() {
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
        final long q = c.attentionSize();
        final long kv = (long) c.numKeyValueHeads() * c.headSize();
        final long f = c.intermediateSize();
        final List<ParameterSpec> specs = new ArrayList<>();
        specs.add(new ParameterSpec(WORD_EMBEDDINGS, new long[] {v, e}, EMBEDDINGS));
        specs.add(new ParameterSpec(POSITION_EMBEDDINGS, new long[] {c.maxPositions(), e}, EMBEDDINGS));
        specs.add(new ParameterSpec(TOKEN_TYPE_EMBEDDINGS, new long[] {c.typeVocabSize(), e}, EMBEDDINGS));
        addNorm(specs, EMBEDDING_NORM, e, EMBEDDINGS);
        if (c.embeddingProjection()) {
            addLinear(specs, PROJECTION_PREFIX, h, e, PROJECTION);
        }
        for (int s = 0; s < c.attentionSets(); s++) {
            final String p = attentionPrefix(c, s) + "attention.";
            final String component = attentionComponent(s);
            addLinear(specs, p + "query", q, h, component);
            addLinear(specs, p + "key", kv, h, component);
            addLinear(specs, p + "value", kv, h, component);
            addLinear(specs, p + "dense", h, q, component);
            addNorm(specs, p + "LayerNorm", h, component);
        }
        for (int s = 0; s < c.ffnSets(); s++) {
            final String p = ffnPrefix(c, s);
            final String component = ffnComponent(s);
            addLinear(specs, p + "ffn", f, h, component);
            addLinear(specs, p + "ffn_output", h, f, component);
            addNorm(specs, p + "full_layer_layer_norm", h, component);
        }
        addLinear(specs, POOLER_PREFIX, h, h, POOLER);
        addLinear(specs, CLASSIFIER_PREFIX, c.numLabels(), h, CLASSIFIER);
        return specs;
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
