package dev.streamformer.engine.onnx.internals;

import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;

import dev.streamformer.model.EncoderBatch;
import dev.streamformer.model.ForwardPass;

/**
 * A forward pass on ONNX Runtime: one session per loaded model, run by every calling thread at
 * once (ONNX Runtime sessions are thread-safe for {@code run}). The session takes int64
 * {@code input_ids} and, if the graph declares them, {@code attention_mask} and
 * {@code token_type_ids}, all [batch, sequence], and answers {@code logits} [batch, labels] (or its
 * only output): the Hugging Face export convention.
 */
public final class OnnxForward implements ForwardPass {

    private static final String IDS = EncoderGraph.INPUTS.get(0);
    private static final String MASK = EncoderGraph.INPUTS.get(1);
    private static final String SEGMENTS = EncoderGraph.INPUTS.get(2);

    private final OrtEnvironment env;
    private final OrtSession session;
    private final boolean takesMask;
    private final boolean takesSegments;
    private final String output;
    private final int labels;
    private final AtomicBoolean closed = new AtomicBoolean();

    private OnnxForward(final OrtEnvironment env, final OrtSession session, final String source, final int labels)
            throws OrtException {
        this.env = env;
        this.session = session;
        final Set<String> inputs = session.getInputNames();
        final Set<String> unknown = new LinkedHashSet<>(inputs);
        unknown.removeAll(EncoderGraph.INPUTS);
        if (!inputs.contains(IDS) || !unknown.isEmpty()) {
            throw new IllegalArgumentException(source + " has inputs " + inputs + "; a sequence classifier takes "
                    + IDS + " and optionally " + MASK + " and " + SEGMENTS
                    + " (int64 [batch, sequence]): export it the Hugging Face way (optimum-cli export onnx"
                    + " --task text-classification)");
        }
        this.takesMask = inputs.contains(MASK);
        this.takesSegments = inputs.contains(SEGMENTS);
        final Map<String, NodeInfo> outputs = session.getOutputInfo();
        this.output = outputs.containsKey(EncoderGraph.OUTPUT) ? EncoderGraph.OUTPUT
                : outputs.size() == 1 ? outputs.keySet().iterator().next() : null;
        if (output == null) {
            throw new IllegalArgumentException(source + " has outputs " + outputs.keySet() + " and none is named "
                    + EncoderGraph.OUTPUT + ": a sequence classifier answers logits [batch, labels]");
        }
        final long[] shape = ((TensorInfo) outputs.get(output).getInfo()).getShape();
        if (shape.length != 2 || shape[1] > 0 && shape[1] != labels) {
            throw new IllegalArgumentException(source + " output " + output + " has shape "
                    + java.util.Arrays.toString(shape) + " but config.json names " + labels
                    + " labels: logits must be [batch, " + labels + "]");
        }
        this.labels = labels;
    }

    /**
     * A session on a graph held in memory (the encoder built from a checkpoint).
     *
     * @param model the ONNX bytes
     * @param labels the number of classes config.json names
     * @param options intra-op threads and weight prepacking
     * @return the forward pass
     */
    public static OnnxForward fromBytes(final byte[] model, final int labels, final SessionSettings options) {
        final OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions o = options.toOptions()) {
            return new OnnxForward(env, env.createSession(model, o), "the encoder graph", labels);
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime refused the encoder graph: " + e.getMessage(), e);
        }
    }

    /**
     * A session on an ONNX file (any sequence classifier exported the Hugging Face way).
     *
     * @param file the model.onnx file
     * @param labels the number of classes config.json names
     * @param options intra-op threads and weight prepacking
     * @return the forward pass
     */
    public static OnnxForward fromFile(final Path file, final int labels, final SessionSettings options) {
        final OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions o = options.toOptions()) {
            final OrtSession session = env.createSession(file.toString(), o);
            try {
                return new OnnxForward(env, session, file.toString(), labels);
            } catch (RuntimeException e) {
                session.close();
                throw e;
            }
        } catch (OrtException e) {
            throw new IllegalArgumentException("ONNX Runtime cannot load " + file + ": " + e.getMessage()
                    + " (is it an ONNX model of opset <= 21?)", e);
        }
    }

    @Override
    public float[] logits(final EncoderBatch batch) {
        final long[] shape = {batch.size(), batch.length()};
        final Map<String, OnnxTensor> inputs = new HashMap<>(4);
        try {
            inputs.put(IDS, OnnxTensor.createTensor(env, LongBuffer.wrap(batch.tokenIds()), shape));
            if (takesMask) {
                final float[] m = batch.mask();
                final long[] mask = new long[m.length];
                for (int i = 0; i < m.length; i++) {
                    mask[i] = (long) m[i];
                }
                inputs.put(MASK, OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape));
            }
            if (takesSegments) {
                inputs.put(SEGMENTS, OnnxTensor.createTensor(env, LongBuffer.wrap(batch.segmentIds()), shape));
            }
            try (OrtSession.Result result = session.run(inputs)) {
                final FloatBuffer out = ((OnnxTensor) result.get(output).orElseThrow()).getFloatBuffer();
                final float[] logits = new float[batch.size() * labels];
                out.get(logits);
                return logits;
            }
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime failed on a batch of " + batch.size() + " x "
                    + batch.length() + " tokens: " + e.getMessage(), e);
        } finally {
            inputs.values().forEach(OnnxTensor::close);
        }
    }

    @Override
    public void close() {
        if (closed.getAndSet(true)) {
            return;
        }
        try {
            session.close();
        } catch (OrtException e) {
            throw new IllegalStateException("Cannot close the ONNX Runtime session: " + e.getMessage(), e);
        }
    }
}
