package dev.streamformer.engine.onnx.internals;

import static dev.streamformer.engine.onnx.internals.GraphBuilder.attr;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import dev.streamformer.model.Activation;
import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.ModelConfig;
import dev.streamformer.model.ParameterLayout;
import dev.streamformer.model.SafeTensors.DType;
import dev.streamformer.model.SafeTensors.Tensor;
import dev.streamformer.engine.onnx.internals.proto.Onnx.ModelProto;

/**
 * The encoder of a checkpoint as an ONNX graph, the same computation as the PyTorch encoder for
 * every sharing plan: embeddings, optional E to H projection, L post-norm layers, tanh pooler on
 * the first token, classifier. Inputs {@code input_ids}, {@code attention_mask} and
 * {@code token_type_ids} (int64 [batch, sequence]), output {@code logits} [batch, labels]: the
 * Hugging Face export convention, so the file serves anywhere an exported classifier does.
 *
 * <p>Each stored tensor becomes one initializer, created the first time a layer needs it, and
 * every layer of a set reads that same initializer: an all-shared model holds each weight once.
 * Matrices are stored as [in, out], the layout MatMul takes (the transpose of the PyTorch
 * [out, in] layout). The ops are the standard ones in the shapes that ONNX Runtime's optimizer
 * recognises: LayerNormalization after a residual Add (fused to SkipLayerNormalization), the erf
 * and tanh GELU expressions (fused to Gelu and FastGelu, with the preceding bias), MatMul followed
 * by a scalar Mul (fused to FusedMatMul). Int8 matrices (from {@code model quantize}) run as
 * {@code DynamicQuantizeMatMul} with their per-output-channel scales: int8 products, never
 * dequantized at load; int8 embedding tables are looked up as int8 and scaled per row. A relaxed
 * layer adds its delta's two thin products to the shared one, x W + (x A^T) B^T: the shared matrix
 * stays one initializer.
 */
public final class EncoderGraph {

    /** The input names, in the order {@link OnnxForward} feeds them. */
    public static final List<String> INPUTS = List.of("input_ids", "attention_mask", "token_type_ids");
    /** The output name. */
    public static final String OUTPUT = "logits";
    /** The hidden states between two steps of the encoder run layer by layer, [batch, sequence, hidden]. */
    public static final String HIDDEN = "hidden";
    /** A layer step's output, [batch, sequence, hidden]. */
    public static final String HIDDEN_OUT = "hidden_out";
    /** The attention mask as the additive bias every layer takes, [batch, 1, 1, sequence]. */
    public static final String MASK_BIAS = "mask_bias";

    private static final float MASKED = 1e9f;

    private final ModelConfig config;
    private final Map<String, Tensor> tensors;
    private final GraphBuilder g;
    /** Stored tensor name to the initializer (or initializers) made of it, so a shared tensor is made once. */
    private final Map<String, String> made = new HashMap<>();

    private EncoderGraph(final Checkpoint checkpoint) {
        this.config = checkpoint.config();
        this.tensors = checkpoint.tensors();
        this.g = new GraphBuilder("streamformer_encoder");
    }

    /**
     * Builds the graph.
     *
     * @param checkpoint the model
     * @param name the model name recorded in the file's metadata
     * @return the ONNX model
     */
    public static ModelProto build(final Checkpoint checkpoint, final String name) {
        return new EncoderGraph(checkpoint).encode(name);
    }

    /**
     * The embedding step of the encoder run layer by layer: token, position and segment embeddings
     * (projected when the config says so), and the attention mask as the additive bias every layer takes.
     *
     * @param checkpoint the model
     * @param name the model name recorded in the file's metadata
     * @return a graph from {@link #INPUTS} to {@link #HIDDEN} [batch, sequence, hidden] and
     *     {@link #MASK_BIAS} [batch, 1, 1, sequence]
     */
    public static ModelProto embedding(final Checkpoint checkpoint, final String name) {
        final EncoderGraph e = new EncoderGraph(checkpoint);
        final String hidden = e.embeddingsOf(e.g.tokenInput(INPUTS.get(0)), e.g.tokenInput(INPUTS.get(1)),
                e.g.tokenInput(INPUTS.get(2)));
        e.g.op("Identity", List.of(hidden));
        e.g.renameLast(HIDDEN);
        e.g.floatTensorOutput(HIDDEN, "batch", "sequence", (long) e.config.hiddenSize());
        e.g.floatTensorOutput(MASK_BIAS, "batch", 1L, 1L, "sequence");
        return e.finish(name, "embedding step");
    }

    /**
     * One layer step of the encoder run layer by layer. Every layer that uses the same attention and
     * feed-forward sets (and, with relaxed sharing, no deltas of its own) computes the same function,
     * so one graph serves all of them: for an all-shared plan one graph serves every depth.
     *
     * @param checkpoint the model
     * @param name the model name recorded in the file's metadata
     * @param layer a layer (0-based) that the graph computes
     * @return a graph from {@link #HIDDEN} and {@link #MASK_BIAS} to {@link #HIDDEN_OUT}
     */
    public static ModelProto layer(final Checkpoint checkpoint, final String name, final int layer) {
        final EncoderGraph e = new EncoderGraph(checkpoint);
        final long h = e.config.hiddenSize();
        final String hidden = e.g.floatTensorInput(HIDDEN, "batch", "sequence", h);
        final String maskBias = e.g.floatTensorInput(MASK_BIAS, "batch", 1L, 1L, "sequence");
        e.layerOf(hidden, maskBias, layer);
        e.g.renameLast(HIDDEN_OUT);
        e.g.floatTensorOutput(HIDDEN_OUT, "batch", "sequence", h);
        return e.finish(name, "layer step (" + layerKey(e.config, layer) + ")");
    }

    /**
     * The exit step of the encoder run layer by layer: the pooler and classifier that read the state
     * after a layer (the model's own after the last layer, and after every layer with
     * {@link dev.streamformer.model.ExitHeads#SHARED}; an exit head of its own with
     * {@link dev.streamformer.model.ExitHeads#PER_LAYER}).
     *
     * @param checkpoint the model
     * @param name the model name recorded in the file's metadata
     * @param layer the layer (0-based) whose state the step reads
     * @return a graph from {@link #HIDDEN} to {@link #OUTPUT} [batch, labels]
     */
    public static ModelProto head(final Checkpoint checkpoint, final String name, final int layer) {
        final EncoderGraph e = new EncoderGraph(checkpoint);
        e.headOf(e.g.floatTensorInput(HIDDEN, "batch", "sequence", (long) e.config.hiddenSize()), layer);
        return e.finish(name, "exit step after layer " + (layer + 1));
    }

    /**
     * The layers that one layer step computes: layers with the same key compute the same function.
     *
     * @param config the architecture
     * @param layer a layer (0-based)
     * @return its attention and feed-forward sets, and the layer itself when relaxed sharing gives it deltas
     */
    public static String layerKey(final ModelConfig config, final int layer) {
        final int[] attention = config.plan().attentionMap(config.numLayers());
        final int[] ffn = config.plan().ffnMap(config.numLayers());
        final boolean own = config.relaxedAttention(layer) || config.relaxedFfn(layer);
        return "attention " + attention[layer] + ", ffn " + ffn[layer] + (own ? ", layer " + layer : "");
    }

    private ModelProto encode(final String name) {
        String hidden = embeddingsOf(g.tokenInput(INPUTS.get(0)), g.tokenInput(INPUTS.get(1)),
                g.tokenInput(INPUTS.get(2)));
        for (int layer = 0; layer < config.numLayers(); layer++) {
            hidden = layerOf(hidden, MASK_BIAS, layer);
        }
        headOf(hidden, config.numLayers() - 1);
        return finish(name, "");
    }

    /** @return the hidden states after the embeddings; the mask bias is {@link #MASK_BIAS} */
    private String embeddingsOf(final String ids, final String mask, final String segments) {
        final String hidden = embeddings(ids, segments);
        g.op("Unsqueeze", List.of(
                g.op("Mul", List.of(g.op("Sub", List.of(g.op("Cast", List.of(mask), attr("to", 1L)), g.scalar(1f))),
                        g.scalar(MASKED))),
                g.longs(1, 2)));
        g.renameLast(MASK_BIAS);
        return hidden;
    }

    private String layerOf(final String hidden, final String maskBias, final int layer) {
        final int[] attention = config.plan().attentionMap(config.numLayers());
        final int[] ffn = config.plan().ffnMap(config.numLayers());
        return layer(hidden, maskBias, layer, ParameterLayout.attentionPrefix(config, attention[layer]),
                ParameterLayout.ffnPrefix(config, ffn[layer]));
    }

    private void headOf(final String hidden, final int layer) {
        final String first = g.op("Gather", List.of(hidden, g.longScalar(0)), attr("axis", 1L));
        final String pooled = g.op("Tanh", List.of(linear(first, ParameterLayout.poolerPrefix(config, layer))));
        linear(pooled, ParameterLayout.classifierPrefix(config, layer));
        g.renameLast(OUTPUT);
        g.floatOutput(OUTPUT, config.numLabels());
    }

    private ModelProto finish(final String name, final String step) {
        return g.build("streamformer", "Shared-parameter encoder " + name + (step.isEmpty() ? "" : ", " + step) + " ("
                + config.plan().describe()
                + (config.relaxRank() > 0 ? ", relaxed with rank " + config.relaxRank() + " deltas" : "") + ", "
                + config.numKeyValueHeads() + "/" + config.numHeads() + " key/value heads)",
                List.of(new String[] {"streamformer.model", name},
                        new String[] {"streamformer.plan", config.plan().describe()}));
    }

    private String embeddings(final String ids, final String segments) {
        // Positions 0..S-1 as the running count of tokens minus one: the result keeps the ids' [batch,
        // sequence] shape through ONNX shape inference (a Slice of the table would lose it), and ONNX
        // Runtime's layer fusions need known shapes.
        final String ones = g.op("Add", List.of(g.op("Mul", List.of(ids, g.longScalar(0))), g.longScalar(1)));
        final String positionIds = g.op("Sub", List.of(g.op("CumSum", List.of(ones, g.longScalar(1))), g.longScalar(1)));
        final String positions = lookup(ParameterLayout.POSITION_EMBEDDINGS, positionIds);
        final String sum = g.op("Add", List.of(
                g.op("Add", List.of(lookup(ParameterLayout.WORD_EMBEDDINGS, ids),
                        lookup(ParameterLayout.TOKEN_TYPE_EMBEDDINGS, segments))),
                positions));
        final String normed = layerNorm(sum, ParameterLayout.EMBEDDING_NORM);
        return config.embeddingProjection() ? linear(normed, ParameterLayout.PROJECTION_PREFIX) : normed;
    }

    private String layer(final String x, final String maskBias, final int layer, final String attention,
            final String ffn) {
        final String attended = attention(x, maskBias, layer, attention);
        final String afterAttention = layerNorm(g.op("Add", List.of(attended, x)), attention,
                ParameterLayout.ATTENTION_NORM, layer);
        final String inner = gelu(linear(afterAttention, ffn, "ffn", layer));
        final String out = linear(inner, ffn, "ffn_output", layer);
        return layerNorm(g.op("Add", List.of(out, afterAttention)), ffn, ParameterLayout.FFN_NORM, layer);
    }

    /**
     * Self-attention with G key/value heads serving groups of A/G query heads. Query heads of one
     * group are folded into the sequence axis, as in the PyTorch encoder, so keys and values are
     * never repeated.
     */
    private String attention(final String x, final String maskBias, final int layer, final String prefix) {
        final long heads = config.numHeads();
        final long kvHeads = config.numKeyValueHeads();
        final long d = config.headSize();
        final long perGroup = heads / kvHeads;
        final String q = g.op("Transpose", List.of(g.op("Reshape", List.of(linear(x, prefix, "attention.query", layer),
                g.longs(0, 0, heads, d)))), attr("perm", 0, 2, 1, 3));
        final String kT = g.op("Transpose", List.of(g.op("Reshape", List.of(linear(x, prefix, "attention.key", layer),
                g.longs(0, 0, kvHeads, d)))), attr("perm", 0, 2, 3, 1));
        final String v = g.op("Transpose", List.of(g.op("Reshape", List.of(linear(x, prefix, "attention.value", layer),
                g.longs(0, 0, kvHeads, d)))), attr("perm", 0, 2, 1, 3));
        String scores = perGroup == 1
                ? g.op("MatMul", List.of(q, kT))
                : g.op("Reshape", List.of(g.op("MatMul", List.of(
                        g.op("Reshape", List.of(q, g.longs(0, kvHeads, -1, d))), kT)), g.longs(0, heads, -1, 0)));
        scores = g.op("Mul", List.of(scores, g.scalar((float) (1.0 / Math.sqrt(d)))));
        final String probs = g.op("Softmax", List.of(g.op("Add", List.of(scores, maskBias))), attr("axis", -1L));
        final String context = perGroup == 1
                ? g.op("MatMul", List.of(probs, v))
                : g.op("Reshape", List.of(g.op("MatMul", List.of(
                        g.op("Reshape", List.of(probs, g.longs(0, kvHeads, -1, 0))), v)), g.longs(0, heads, -1, d)));
        final String merged = g.op("Reshape", List.of(
                g.op("Transpose", List.of(context), attr("perm", 0, 2, 1, 3)), g.longs(0, 0, heads * d)));
        return linear(merged, prefix, "attention.dense", layer);
    }

    /** GELU written as the expressions ONNX Runtime fuses: erf for gelu, tanh for gelu_new. */
    private String gelu(final String x) {
        if (config.activation() == Activation.GELU) {
            final String erf = g.op("Erf", List.of(g.op("Div", List.of(x, g.scalar((float) Math.sqrt(2))))));
            return g.op("Mul", List.of(g.op("Mul", List.of(x, g.op("Add", List.of(erf, g.scalar(1f))))),
                    g.scalar(0.5f)));
        }
        final String half = g.op("Mul", List.of(x, g.scalar(0.5f)));
        final String cube = g.op("Mul", List.of(g.op("Pow", List.of(x, g.scalar(3f))), g.scalar(0.044715f)));
        final String inner = g.op("Mul", List.of(g.op("Add", List.of(x, cube)),
                g.scalar((float) Math.sqrt(2 / Math.PI))));
        return g.op("Mul", List.of(half, g.op("Add", List.of(g.op("Tanh", List.of(inner)), g.scalar(1f)))));
    }

    /** A set's LayerNorm in a layer: with relaxed sharing its gain and bias plus the layer's differences. */
    private String layerNorm(final String x, final String setPrefix, final String norm, final int layer) {
        final String delta = ParameterLayout.deltaPrefix(layer) + norm;
        if (!tensors.containsKey(delta + ".weight")) {
            return layerNorm(x, setPrefix + norm);
        }
        return g.op("LayerNormalization", List.of(x, vector(setPrefix + norm + ".weight", delta + ".weight"),
                vector(setPrefix + norm + ".bias", delta + ".bias")), attr("axis", -1L),
                attr("epsilon", (float) config.layerNormEps()));
    }

    /** A set's vector plus a layer's difference: an Add of two initializers, folded by the optimizer. */
    private String vector(final String shared, final String delta) {
        return g.op("Add", List.of(stored(shared), stored(delta)));
    }

    private String layerNorm(final String x, final String prefix) {
        return g.op("LayerNormalization", List.of(x, stored(prefix + ".weight"), stored(prefix + ".bias")),
                attr("axis", -1L), attr("epsilon", (float) config.layerNormEps()));
    }

    /**
     * A layer's product with a set's matrix: x W^T + b, plus (x A^T) B^T when the layer relaxes it.
     * The delta's products run in fp32, or in int8 when its factors are int8.
     */
    private String linear(final String x, final String setPrefix, final String matrix, final int layer) {
        final String delta = ParameterLayout.deltaPrefix(layer) + matrix;
        if (!tensors.containsKey(delta + ParameterLayout.DELTA_A)) {
            return linear(x, setPrefix + matrix);
        }
        final String down = product(x, delta + ParameterLayout.DELTA_A);
        final String products = g.op("Add", List.of(product(x, setPrefix + matrix + ".weight"),
                product(down, delta + ParameterLayout.DELTA_B)));
        // The bias last, so that ONNX Runtime folds it into the GELU or skip-LayerNorm that follows.
        return g.op("Add", List.of(products, vector(setPrefix + matrix + ".bias", delta + ".bias")));
    }

    /** x M^T for a stored [out, in] matrix without a bias. */
    private String product(final String x, final String matrix) {
        if (isInt8(matrix)) {
            return g.microsoft("DynamicQuantizeMatMul", List.of(x, transposed(matrix),
                    stored(matrix + Checkpoint.SCALE_SUFFIX)));
        }
        return g.op("MatMul", List.of(x, transposed(matrix)));
    }

    /** x W^T + b for a stored [out, in] weight; int8 weights multiply in int8. */
    private String linear(final String x, final String prefix) {
        final String weight = prefix + ".weight";
        final String bias = stored(prefix + ".bias");
        if (isInt8(weight)) {
            return g.microsoft("DynamicQuantizeMatMul", List.of(x, transposed(weight), stored(weight + Checkpoint.SCALE_SUFFIX),
                    "", bias));
        }
        return g.op("Add", List.of(g.op("MatMul", List.of(x, transposed(weight))), bias));
    }

    /** Rows of an embedding table by id; an int8 table is gathered as int8, then scaled per row. */
    private String lookup(final String table, final String ids) {
        final String rows = g.op("Gather", List.of(stored(table), ids), attr("axis", 0L));
        if (!isInt8(table)) {
            return rows;
        }
        final String scales = g.op("Gather", List.of(stored(table + Checkpoint.SCALE_SUFFIX), ids), attr("axis", 0L));
        return g.op("Mul", List.of(g.op("Cast", List.of(rows), attr("to", 1L)),
                g.op("Unsqueeze", List.of(scales, g.longs(-1)))));
    }

    private boolean isInt8(final String name) {
        return tensors.get(name).dtype() == DType.I8 && tensors.containsKey(name + Checkpoint.SCALE_SUFFIX);
    }

    /** A stored tensor as it is (widened to fp32 unless it is int8), made once. */
    private String stored(final String name) {
        return made.computeIfAbsent(name, n -> {
            final Tensor t = tensors.get(n);
            if (t.dtype() == DType.I8) {
                return g.int8(n, t.shape(), t.data());
            }
            return t.dtype() == DType.F32 ? g.floats(n, t.shape(), t.data()) : g.floats(n, t.shape(), t.toFloats());
        });
    }

    /** A stored [out, in] matrix as [in, out], made once. */
    private String transposed(final String name) {
        return made.computeIfAbsent(name + "^T", n -> {
            final Tensor t = tensors.get(name);
            final int rows = Math.toIntExact(t.shape()[0]);
            final int cols = Math.toIntExact(t.shape()[1]);
            final long[] shape = {cols, rows};
            if (t.dtype() == DType.I8) {
                final ByteBuffer in = t.data().duplicate();
                final byte[] out = new byte[rows * cols];
                for (int r = 0; r < rows; r++) {
                    for (int c = 0; c < cols; c++) {
                        out[c * rows + r] = in.get(r * cols + c);
                    }
                }
                return g.int8(name, shape, ByteBuffer.wrap(out));
            }
            final float[] in = t.toFloats();
            final ByteBuffer out = ByteBuffer.allocate(rows * cols * 4).order(ByteOrder.LITTLE_ENDIAN);
            for (int c = 0; c < cols; c++) {
                for (int r = 0; r < rows; r++) {
                    out.putFloat(in[r * cols + c]);
                }
            }
            out.flip();
            return g.floats(name, shape, out);
        });
    }
}
