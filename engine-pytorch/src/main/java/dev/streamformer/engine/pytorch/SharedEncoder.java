package dev.streamformer.engine.pytorch;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.core.Embedding;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.Dropout;
import ai.djl.nn.norm.LayerNorm;

import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.EncoderBatch;
import dev.streamformer.model.EncoderInput;
import dev.streamformer.model.ModelConfig;
import dev.streamformer.model.ParameterLayout;
import dev.streamformer.model.ParameterSpec;

/**
 * The BERT/ALBERT encoder on DJL's NDArray API: embeddings, optional E to H projection, L post-norm
 * Transformer layers whose attention and feed-forward parameters come from shared sets, a tanh
 * pooler on the first token and a classification head.
 *
 * <p>Every distinct tensor is one NDArray, created once in this encoder's manager; layers that
 * share a set hold the same NDArray objects. A forward pass only reads them, so many threads may
 * run forward passes at once. Every operation takes an activation as its first operand, so its
 * result belongs to the caller's manager, never to the weights' manager. With relaxed sharing a
 * layer's product with a shared matrix W adds its own low-rank delta, x W^T + (x A^T) B^T: the
 * shared matrix is never copied per layer.
 */
public final class SharedEncoder implements AutoCloseable {

    /** The engine that runs the encoder. */
    public static final String ENGINE = "PyTorch";

    private static final float MASKED = -1e9f;
    private static final double GELU_LINEAR = 2 * Math.sqrt(2 / Math.PI);
    private static final double GELU_CUBIC = GELU_LINEAR * 0.044715;

    private final ModelConfig config;
    private final NDManager weightsManager;
    private final Map<String, NDArray> parameters;
    private final AttentionSet[] attentionSets;
    private final FfnSet[] ffnSets;
    private final int[] attentionMap;
    private final int[] ffnMap;
    private final boolean trainable;
    private final float dropout;

    private SharedEncoder(final Checkpoint checkpoint, final boolean trainable, final float dropout) {
        if (!(dropout >= 0 && dropout < 1)) {
            throw new IllegalArgumentException("dropout must be in [0, 1), got " + dropout);
        }
        this.config = checkpoint.config();
        this.trainable = trainable;
        this.dropout = dropout;
        this.weightsManager = Engine.getEngine(ENGINE).newBaseManager();
        final Map<String, NDArray> params = new LinkedHashMap<>();
        try {
            for (final ParameterSpec spec : ParameterLayout.of(config)) {
                final NDArray array = weightsManager.create(checkpoint.floats(spec.name()), new Shape(spec.shape()));
                array.setName(spec.name());
                array.setRequiresGradient(trainable);
                params.put(spec.name(), array);
            }
        } catch (RuntimeException e) {
            weightsManager.close();
            throw e;
        }
        this.parameters = Collections.unmodifiableMap(params);
        this.attentionSets = new AttentionSet[config.attentionSets()];
        for (int s = 0; s < attentionSets.length; s++) {
            attentionSets[s] = new AttentionSet(params, ParameterLayout.attentionPrefix(config, s) + "attention.");
        }
        this.ffnSets = new FfnSet[config.ffnSets()];
        for (int s = 0; s < ffnSets.length; s++) {
            ffnSets[s] = new FfnSet(params, ParameterLayout.ffnPrefix(config, s));
        }
        this.attentionMap = config.plan().attentionMap(config.numLayers());
        this.ffnMap = config.plan().ffnMap(config.numLayers());
    }

    /**
     * A layer's product with a set's matrix: x W^T + b, plus, when the layer relaxes it, its delta
     * (x A^T) B^T and its bias difference.
     */
    private NDArray linear(final NDArray x, final NDArray weight, final NDArray bias, final int layer,
            final String matrix) {
        final String delta = ParameterLayout.deltaPrefix(layer) + matrix;
        final NDArray down = parameters.get(delta + ParameterLayout.DELTA_A);
        if (down == null) {
            return Linear.linear(x, weight, bias).singletonOrThrow();
        }
        final NDArray base = Linear.linear(x, weight, vector(bias, delta + ".bias", x.getManager()))
                .singletonOrThrow();
        final NDArray up = parameters.get(delta + ParameterLayout.DELTA_B);
        final NDArray product = Linear.linear(Linear.linear(x, down).singletonOrThrow(), up).singletonOrThrow();
        return trainable ? base.add(product) : base.addi(product);
    }

    /**
     * A set's vector as a layer uses it: the vector, or with relaxed sharing the vector plus the
     * layer's difference, computed in the caller's manager (the weights' manager never gains arrays).
     */
    private NDArray vector(final NDArray shared, final String delta, final NDManager caller) {
        final NDArray difference = parameters.get(delta);
        if (difference == null) {
            return shared;
        }
        final NDArray sum = shared.add(difference);
        sum.attach(caller);
        return sum;
    }

    /**
     * An encoder for inference: weights frozen, no gradient is ever recorded for them.
     *
     * @param checkpoint the stored model
     * @return the encoder; close it to free the weights
     */
    public static SharedEncoder forInference(final Checkpoint checkpoint) {
        return new SharedEncoder(checkpoint, false, 0f);
    }

    /**
     * An encoder for training: every distinct tensor records gradients, so inside a
     * {@code GradientCollector} the gradient of a shared tensor sums over every layer that uses it.
     *
     * @param checkpoint the initial weights
     * @return the encoder; close it to free the weights
     */
    public static SharedEncoder forTraining(final Checkpoint checkpoint) {
        return new SharedEncoder(checkpoint, true, 0f);
    }

    /**
     * An encoder for training with dropout: every forward pass zeroes each activation at BERT's places
     * (the embeddings, the attention probabilities, the attention and feed-forward outputs before their
     * residual adds, the pooled vector) with probability {@code dropout} and scales the rest by
     * 1 / (1 - dropout), drawing from the engine's random generator.
     *
     * @param checkpoint the initial weights
     * @param dropout the probability, in [0, 1)
     * @return the encoder; close it to free the weights
     */
    public static SharedEncoder forTraining(final Checkpoint checkpoint, final float dropout) {
        return new SharedEncoder(checkpoint, true, dropout);
    }

    /** @return the architecture */
    public ModelConfig config() {
        return config;
    }

    /**
     * The distinct tensors by name: one NDArray per stored tensor, however many layers use it.
     *
     * @return an unmodifiable map
     */
    public Map<String, NDArray> parameters() {
        return parameters;
    }

    /**
     * The outputs of a forward pass, in the caller's manager.
     *
     * @param logits B x C class scores
     * @param pooled B x H pooled first-token vectors
     */
    public record Output(NDArray logits, NDArray pooled) {
    }

    /**
     * Runs a batch. Validation happens first, so bad input never reaches the engine.
     *
     * @param manager the caller's manager; the outputs and every activation belong to it
     * @param inputs the sequences
     * @param freePerLayer close each layer's intermediates as soon as the layer is done (inference);
     *     false keeps them for a backward pass
     * @return logits and pooled vectors
     * @throws InvalidInputException when an input cannot run
     */
    public Output forward(final NDManager manager, final List<EncoderInput> inputs, final boolean freePerLayer) {
        return forward(manager, EncoderBatch.of(config, inputs), freePerLayer);
    }

    /**
     * Runs a batch that was validated and padded already.
     *
     * @param manager the caller's manager; the outputs and every activation belong to it
     * @param batch the padded batch
     * @param freePerLayer close each layer's intermediates as soon as the layer is done (inference)
     * @return logits and pooled vectors
     */
    public Output forward(final NDManager manager, final EncoderBatch batch, final boolean freePerLayer) {
        final NDArray hidden = encode(manager, batch, freePerLayer);
        final NDArray first = hidden.get(":, 0, :");
        final NDArray pooled = linear(first, ParameterLayout.POOLER_PREFIX).tanh();
        final NDArray logits = linear(drop(pooled), ParameterLayout.CLASSIFIER_PREFIX);
        return new Output(logits, pooled);
    }

    /**
     * Runs a batch through every layer and reads every exit: the logits each record would answer had it
     * stopped after each layer ({@link dev.streamformer.model.ExitHeads}: the model's own head reads
     * every depth when the exits are shared, an exit head of its own reads each earlier layer when they
     * are per layer). Training with exits weighs their losses; the last is {@link #forward}'s logits.
     *
     * @param manager the caller's manager; the outputs and every activation belong to it
     * @param batch the padded batch
     * @param freePerLayer close each layer's intermediates as soon as the layer is done (inference)
     * @return per layer (0-based), B x C logits
     */
    public List<NDArray> logitsAtEveryDepth(final NDManager manager, final EncoderBatch batch,
            final boolean freePerLayer) {
        final List<NDArray> out = new java.util.ArrayList<>(config.numLayers());
        layers(manager, batch, freePerLayer, (hidden, layer) -> out.add(exitLogits(hidden, layer)));
        return out;
    }

    private NDArray exitLogits(final NDArray hidden, final int layer) {
        final NDArray pooled = linear(hidden.get(":, 0, :"), ParameterLayout.poolerPrefix(config, layer)).tanh();
        return linear(drop(pooled), ParameterLayout.classifierPrefix(config, layer));
    }

    /**
     * The last layer's hidden states of a padded batch, before the pooler: what masked-language-model
     * pre-training reads.
     *
     * @param manager the caller's manager; the result and every activation belong to it
     * @param batch the padded batch
     * @param freePerLayer close each layer's intermediates as soon as the layer is done (inference)
     * @return B x S x H
     */
    public NDArray encode(final NDManager manager, final EncoderBatch batch, final boolean freePerLayer) {
        return layers(manager, batch, freePerLayer, (hidden, layer) -> { });
    }

    /** Runs every layer, handing each layer's output to {@code afterEach}; returns the last one's. */
    private NDArray layers(final NDManager manager, final EncoderBatch batch, final boolean freePerLayer,
            final java.util.function.ObjIntConsumer<NDArray> afterEach) {
        final int b = batch.size();
        final int s = batch.length();
        NDArray hidden = embed(manager, batch);
        final NDArray maskBias = batch.padded()
                ? manager.create(batch.mask(), new Shape(b, 1, 1, s)).sub(1f).mul(-MASKED)
                : null;
        for (int layer = 0; layer < config.numLayers(); layer++) {
            if (freePerLayer) {
                try (NDManager layerManager = manager.newSubManager()) {
                    hidden.attach(layerManager);
                    final NDArray next = layer(hidden, maskBias, layer, b, s);
                    next.attach(manager);
                    hidden = next;
                }
            } else {
                hidden = layer(hidden, maskBias, layer, b, s);
            }
            afterEach.accept(hidden, layer);
        }
        return hidden;
    }

    private NDArray embed(final NDManager manager, final EncoderBatch batch) {
        final Shape shape = new Shape(batch.size(), batch.length());
        final NDArray ids = manager.create(batch.tokenIds(), shape);
        final NDArray segments = manager.create(batch.segmentIds(), shape);
        final NDArray positions = manager.arange(0, batch.length(), 1, DataType.INT64);
        final NDArray sum = lookup(ids, ParameterLayout.WORD_EMBEDDINGS)
                .add(lookup(segments, ParameterLayout.TOKEN_TYPE_EMBEDDINGS))
                .add(lookup(positions, ParameterLayout.POSITION_EMBEDDINGS));
        final NDArray normed = drop(norm(sum, ParameterLayout.EMBEDDING_NORM, config.embeddingSize()));
        return config.embeddingProjection() ? linear(normed, ParameterLayout.PROJECTION_PREFIX) : normed;
    }

    private NDArray layer(final NDArray x, final NDArray maskBias, final int layer, final int b, final int s) {
        final AttentionSet a = attentionSets[attentionMap[layer]];
        final FfnSet f = ffnSets[ffnMap[layer]];
        final NDArray attended = drop(attention(x, maskBias, a, b, s, layer));
        // In-place adds and scalings below write only into a fresh result whose producer does not need
        // it for its backward pass, so they are safe while gradients are recorded too.
        final String delta = ParameterLayout.deltaPrefix(layer);
        final NDManager caller = x.getManager();
        final NDArray afterAttention = layerNorm(attended.addi(x),
                vector(a.normWeight, delta + ParameterLayout.ATTENTION_NORM + ".weight", caller),
                vector(a.normBias, delta + ParameterLayout.ATTENTION_NORM + ".bias", caller), config.hiddenSize());
        NDArray inner = linear(afterAttention, f.inWeight, f.inBias, layer, "ffn");
        inner = switch (config.activation()) {
            case GELU -> ai.djl.nn.Activation.gelu(inner);
            case GELU_NEW -> geluTanh(inner);
        };
        final NDArray out = drop(linear(inner, f.outWeight, f.outBias, layer, "ffn_output"));
        return layerNorm(out.addi(afterAttention),
                vector(f.normWeight, delta + ParameterLayout.FFN_NORM + ".weight", caller),
                vector(f.normBias, delta + ParameterLayout.FFN_NORM + ".bias", caller), config.hiddenSize());
    }

    /**
     * Multi-head self-attention with G key/value heads shared by groups of A/G query heads. Query
     * heads of one group are folded into the sequence axis, so keys and values are never copied.
     */
    private NDArray attention(final NDArray x, final NDArray maskBias, final AttentionSet a, final int b,
            final int s, final int layer) {
        final int heads = config.numHeads();
        final int kvHeads = config.numKeyValueHeads();
        final int d = config.headSize();
        final int perGroup = heads / kvHeads;
        final NDArray q = linear(x, a.queryWeight, a.queryBias, layer, "attention.query")
                .muli(1.0 / Math.sqrt(d))
                .reshape(b, s, heads, d).transpose(0, 2, 1, 3);
        final NDArray kT = linear(x, a.keyWeight, a.keyBias, layer, "attention.key")
                .reshape(b, s, kvHeads, d).transpose(0, 2, 3, 1);
        final NDArray v = linear(x, a.valueWeight, a.valueBias, layer, "attention.value")
                .reshape(b, s, kvHeads, d).transpose(0, 2, 1, 3);
        NDArray scores = perGroup == 1
                ? q.matMul(kT)
                : q.reshape(b, kvHeads, perGroup * s, d).matMul(kT).reshape(b, heads, s, s);
        if (maskBias != null) {
            scores = scores.addi(maskBias);
        }
        final NDArray probs = drop(scores.softmax(-1));
        final NDArray context = perGroup == 1
                ? probs.matMul(v)
                : probs.reshape(b, kvHeads, perGroup * s, s).matMul(v).reshape(b, heads, s, d);
        final NDArray merged = context.transpose(0, 2, 1, 3).reshape(b, s, config.attentionSize());
        return linear(merged, a.denseWeight, a.denseBias, layer, "attention.dense");
    }

    /**
     * GELU, tanh approximation: 0.5 x (1 + tanh(u)) with u = sqrt(2/pi) (x + 0.044715 x^3), computed
     * as the identical x sigmoid(2u) = x sigmoid(x (2 sqrt(2/pi) + 2 sqrt(2/pi) 0.044715 x^2)): five
     * passes over the activations instead of eight, and no general pow (the slowest of them). For
     * inference the last two multiplications are in place; while gradients are recorded they are
     * not, since the sigmoid's backward pass needs its output.
     */
    private NDArray geluTanh(final NDArray x) {
        final NDArray t = x.square().muli(GELU_CUBIC).addi(GELU_LINEAR);
        return trainable
                ? ai.djl.nn.Activation.sigmoid(t.mul(x)).mul(x)
                : ai.djl.nn.Activation.sigmoid(t.muli(x)).muli(x);
    }

    /** Dropout while training with a rate above 0; otherwise the activations unchanged. */
    private NDArray drop(final NDArray x) {
        return dropout == 0 ? x : Dropout.dropout(x, dropout, true).singletonOrThrow();
    }

    private NDArray lookup(final NDArray ids, final String table) {
        return Embedding.embedding(ids, parameters.get(table), SparseFormat.DENSE).singletonOrThrow();
    }

    private NDArray linear(final NDArray x, final String prefix) {
        return Linear.linear(x, parameters.get(prefix + ".weight"), parameters.get(prefix + ".bias"))
                .singletonOrThrow();
    }

    private NDArray norm(final NDArray x, final String prefix, final int size) {
        return layerNorm(x, parameters.get(prefix + ".weight"), parameters.get(prefix + ".bias"), size);
    }

    private NDArray layerNorm(final NDArray x, final NDArray gain, final NDArray bias, final int size) {
        return LayerNorm.layerNorm(x, new Shape(size), gain, bias, (float) config.layerNormEps()).singletonOrThrow();
    }

    @Override
    public void close() {
        weightsManager.close();
    }

    /** The tensors of one attention set. */
    private static final class AttentionSet {
        final NDArray queryWeight;
        final NDArray queryBias;
        final NDArray keyWeight;
        final NDArray keyBias;
        final NDArray valueWeight;
        final NDArray valueBias;
        final NDArray denseWeight;
        final NDArray denseBias;
        final NDArray normWeight;
        final NDArray normBias;

        AttentionSet(final Map<String, NDArray> p, final String prefix) {
            queryWeight = p.get(prefix + "query.weight");
            queryBias = p.get(prefix + "query.bias");
            keyWeight = p.get(prefix + "key.weight");
            keyBias = p.get(prefix + "key.bias");
            valueWeight = p.get(prefix + "value.weight");
            valueBias = p.get(prefix + "value.bias");
            denseWeight = p.get(prefix + "dense.weight");
            denseBias = p.get(prefix + "dense.bias");
            normWeight = p.get(prefix + "LayerNorm.weight");
            normBias = p.get(prefix + "LayerNorm.bias");
        }
    }

    /** The tensors of one feed-forward set. */
    private static final class FfnSet {
        final NDArray inWeight;
        final NDArray inBias;
        final NDArray outWeight;
        final NDArray outBias;
        final NDArray normWeight;
        final NDArray normBias;

        FfnSet(final Map<String, NDArray> p, final String prefix) {
            inWeight = p.get(prefix + "ffn.weight");
            inBias = p.get(prefix + "ffn.bias");
            outWeight = p.get(prefix + "ffn_output.weight");
            outBias = p.get(prefix + "ffn_output.bias");
            normWeight = p.get(prefix + "full_layer_layer_norm.weight");
            normBias = p.get(prefix + "full_layer_layer_norm.bias");
        }
    }
}
