package dev.streamformer.train;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import dev.streamformer.engine.onnx.internals.LayeredForward;
import dev.streamformer.engine.onnx.internals.SessionSettings;
import dev.streamformer.engine.pytorch.IntraOpThreads;
import dev.streamformer.engine.pytorch.SharedEncoder;
import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.EncoderBatch;
import dev.streamformer.model.EncoderInput;
import dev.streamformer.model.EngineSettings;
import dev.streamformer.model.ExitHeads;
import dev.streamformer.model.ExitPolicy;
import dev.streamformer.model.InferenceEngine;
import dev.streamformer.model.ModelOutput;

/**
 * A model with exit heads scored under an exit policy: the usual metrics of the answers the records
 * leave with, the mean number of layers they run and the histogram of the layers they leave after.
 * Every exit of every record is computed once ({@link #depths}); a policy only chooses among them,
 * so trying many policies costs nothing more.
 *
 * @param policy the policy
 * @param metrics accuracy, spam F1, ROC-AUC of the answers at the exits taken
 * @param meanLayers layers run per record, on average
 * @param exitHistogram records leaving after each layer (index 0 = after layer 1)
 */
public record ExitEvaluation(ExitPolicy policy, Evaluation metrics, double meanLayers, long[] exitHistogram) {

    /**
     * What every exit answers for every example.
     *
     * @param checkpoint the model, with exit heads
     * @param settings the engine (ONNX Runtime run layer by layer, or the PyTorch encoder) and its threads
     * @param examples the examples
     * @return per example, per layer, the C logits
     * @throws IllegalArgumentException when the model has no exit heads
     */
    public static float[][][] depths(final Checkpoint checkpoint, final EngineSettings settings,
            final List<Example> examples) {
        if (checkpoint.config().exits() == ExitHeads.NONE) {
            throw new IllegalArgumentException("the model has no exit heads: train or finetune it with --exits shared"
                    + " or --exits per-layer");
        }
        final int labels = checkpoint.config().numLabels();
        final int layers = checkpoint.config().numLayers();
        final float[][][] out = new float[examples.size()][layers][labels];
        final int batchSize = 32;
        if (settings.engine() == InferenceEngine.PYTORCH) {
            IntraOpThreads.apply(settings.intraOpThreads());
            try (SharedEncoder encoder = SharedEncoder.forInference(checkpoint);
                    NDManager base = Engine.getEngine(SharedEncoder.ENGINE).newBaseManager()) {
                for (int start = 0; start < examples.size(); start += batchSize) {
                    try (NDManager scratch = base.newSubManager()) {
                        final List<NDArray> depths = encoder.logitsAtEveryDepth(scratch, batch(checkpoint, examples,
                                start, batchSize), true);
                        final float[][] flat = new float[layers][];
                        for (int l = 0; l < layers; l++) {
                            flat[l] = depths.get(l).toFloatArray();
                        }
                        scatter(flat, out, start, labels);
                    }
                }
            }
        } else {
            try (LayeredForward layered = LayeredForward.of(checkpoint, "eval",
                    SessionSettings.of(settings.intraOpThreads(), settings.prepacking()))) {
                for (int start = 0; start < examples.size(); start += batchSize) {
                    scatter(layered.logitsAtEveryDepth(batch(checkpoint, examples, start, batchSize)), out, start,
                            labels);
                }
            }
        }
        return out;
    }

    /**
     * Scores a policy on what every exit answered.
     *
     * @param depths per example, per layer, the logits ({@link #depths})
     * @param labels each example's label
     * @param policy the policy
     * @return the evaluation
     */
    public static ExitEvaluation of(final float[][][] depths, final int[] labels, final ExitPolicy policy) {
        final int layers = depths.length == 0 ? 0 : depths[0].length;
        final long[] histogram = new long[layers];
        final double[] spam = new double[depths.length];
        long ran = 0;
        for (int i = 0; i < depths.length; i++) {
            final int layer = policy.exitLayer(depths[i], 0, depths[i][0].length);
            histogram[layer]++;
            ran += layer + 1;
            spam[i] = ModelOutput.softmax(depths[i][layer], 1)[1];
        }
        return new ExitEvaluation(policy, Evaluation.of(labels, spam), depths.length == 0 ? 0 : ran / (double) depths.length,
                histogram);
    }

    /**
     * @param depths per example, per layer, the logits ({@link #depths})
     * @return each example's p(spam) after the last layer: the full-depth answer, without running the model again
     */
    public static double[] spamAtFullDepth(final float[][][] depths) {
        final double[] spam = new double[depths.length];
        for (int i = 0; i < depths.length; i++) {
            spam[i] = ModelOutput.softmax(depths[i][depths[i].length - 1], 1)[1];
        }
        return spam;
    }

    /** Mean layers within this much of the fewest count as as few: the safer policy among them is kept. */
    static final double LAYERS_TOLERANCE = 0.05;

    /**
     * Chooses the policy that runs the fewest layers on average while losing at most the given accuracy
     * against running every layer: confidence thresholds from 0.5 to 0.9999 and patience 1 to L-1.
     * Policies within {@value #LAYERS_TOLERANCE} layers of the fewest count as equally cheap, and the
     * safest of them is kept (the higher threshold, the longer patience): on a validation part where
     * every threshold scores alike, the lowest would leave unseen records too eagerly.
     *
     * @param depths per example, per layer, the logits
     * @param labels each example's label
     * @param maxLossPoints the accuracy it may lose, in percentage points (0.1 = a tenth of a point)
     * @return every policy tried, the chosen one first
     */
    public static List<ExitEvaluation> choose(final float[][][] depths, final int[] labels, final double maxLossPoints) {
        final ExitEvaluation full = of(depths, labels, ExitPolicy.NONE);
        final List<ExitEvaluation> tried = new ArrayList<>();
        for (final double p : new double[] {0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.925, 0.95, 0.96, 0.97, 0.98, 0.99, 0.995,
                0.999, 0.9995, 0.9999}) {
            tried.add(of(depths, labels, new ExitPolicy(ExitPolicy.Kind.CONFIDENCE, p, 0)));
        }
        final int layers = depths.length == 0 ? 0 : depths[0].length;
        for (int t = 1; t < layers; t++) {
            tried.add(of(depths, labels, new ExitPolicy(ExitPolicy.Kind.PATIENCE, 0, t)));
        }
        final List<ExitEvaluation> within = new ArrayList<>();
        for (final ExitEvaluation e : tried) {
            if (e.metrics().accuracy() >= full.metrics().accuracy() - maxLossPoints / 100 - 1e-12) {
                within.add(e);
            }
        }
        final double fewest = within.stream().mapToDouble(ExitEvaluation::meanLayers).min().orElse(full.meanLayers());
        ExitEvaluation best = full;
        for (final ExitEvaluation e : within) {
            if (e.meanLayers() <= fewest + LAYERS_TOLERANCE && e.meanLayers() < full.meanLayers()
                    && (best == full || safer(e.policy(), best.policy()))) {
                best = e;
            }
        }
        final List<ExitEvaluation> out = new ArrayList<>();
        out.add(best);
        if (best != full) {
            out.add(full);
        }
        for (final ExitEvaluation e : tried) {
            if (e != best) {
                out.add(e);
            }
        }
        return out;
    }

    /**
     * Confidence is safer with a higher threshold, patience with a longer wait; of two kinds the one found
     * first (confidence) is kept.
     */
    private static boolean safer(final ExitPolicy a, final ExitPolicy b) {
        if (a.kind() != b.kind()) {
            return false;
        }
        return a.kind() == ExitPolicy.Kind.CONFIDENCE ? a.threshold() > b.threshold() : a.patience() > b.patience();
    }

    /** @return the figures as a JSON-ready map */
    public Map<String, Object> toMap() {
        final Map<String, Object> m = new LinkedHashMap<>();
        m.put("exit_policy", policy.toString());
        m.put("mean_layers", meanLayers);
        m.put("exit_layer_histogram", exitHistogram);
        m.putAll(metrics.toMap());
        return m;
    }

    /** @return one line: the policy, mean layers, the histogram, accuracy and F1 */
    public String toLine() {
        return String.format(Locale.ROOT, "%-18s mean layers %.2f  exits %-26s accuracy %.4f  spam F1 %.4f  ROC-AUC %.4f",
                policy, meanLayers, java.util.Arrays.toString(exitHistogram), metrics.accuracy(), metrics.f1(),
                metrics.rocAuc());
    }

    private static EncoderBatch batch(final Checkpoint checkpoint, final List<Example> examples, final int start,
            final int size) {
        final List<EncoderInput> inputs = new ArrayList<>();
        for (int i = start; i < Math.min(examples.size(), start + size); i++) {
            inputs.add(EncoderInput.of(examples.get(i).tokenIds()));
        }
        return EncoderBatch.of(checkpoint.config(), inputs);
    }

    private static void scatter(final float[][] byLayer, final float[][][] out, final int start, final int labels) {
        for (int l = 0; l < byLayer.length; l++) {
            final int rows = byLayer[l].length / labels;
            for (int r = 0; r < rows; r++) {
                System.arraycopy(byLayer[l], r * labels, out[start + r][l], 0, labels);
            }
        }
    }
}
