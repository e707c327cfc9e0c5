package dev.streamformer.train;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;

import dev.streamformer.engine.pytorch.IntraOpThreads;
import dev.streamformer.engine.pytorch.SharedEncoder;
import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.EncoderBatch;
import dev.streamformer.model.EncoderInput;
import dev.streamformer.model.ExitHeads;
import dev.streamformer.model.InferenceModel;
import dev.streamformer.model.ModelOutput;
import dev.streamformer.model.ParameterLayout;
import dev.streamformer.model.ParameterSpec;
import dev.streamformer.model.SafeTensors.Tensor;

/**
 * Trains a model on labelled examples with cross-entropy, AdamW and a linear warm-up then decay
 * schedule, optionally distilling from a teacher's probabilities. Runs on one thread (the engine
 * allows one gradient recording at a time); the forward pass is the same code that serves
 * predictions, so a shared tensor gets the gradient summed over every layer that uses it.
 */
public final class ModelTrainer {

    /** Global gradient-norm clipping, which keeps post-LayerNorm Transformers from collapsing early on. */
    static final double MAX_GRADIENT_NORM = 1.0;

    /**
     * Training settings.
     *
     * @param epochs passes over the training examples
     * @param batchSize examples per step
     * @param learningRate peak learning rate
     * @param warmupFraction share of the steps spent warming up
     * @param weightDecay AdamW decay of the weights
     * @param seed shuffling seed
     * @param threads intra-op threads
     * @param distillWeight weight of the teacher's soft targets in the loss (0 = none)
     * @param temperature softmax temperature of the distillation
     * @param balancedClasses weight each example's loss by n / (classes x n of its class), as if every class
     *     were equally frequent (for a test set whose class shares differ from the training part's)
     * @param dropout the probability of zeroing an activation while training, at BERT's places: the embeddings,
     *     the attention probabilities, the attention and feed-forward outputs before their residual adds, the
     *     pooled vector before the classifier (0 = none; serving never drops)
     * @param exitDistill with exit heads, the weight of the last exit's probabilities as soft targets of
     *     the earlier exits (0 = the labels alone)
     */
    public record Settings(int epochs, int batchSize, double learningRate, double warmupFraction, double weightDecay,
            long seed, int threads, double distillWeight, double temperature, boolean balancedClasses,
            double dropout, double exitDistill) {

        /** Checks the dropout probability and the exit distillation weight. */
        public Settings {
            if (!(dropout >= 0 && dropout < 1)) {
                throw new IllegalArgumentException("dropout must be in [0, 1), got " + dropout);
            }
            if (!(exitDistill >= 0 && exitDistill <= 1)) {
                throw new IllegalArgumentException("the exit distillation weight must be in [0, 1], got " + exitDistill);
            }
        }

        /** The settings without exit distillation. */
        public Settings(final int epochs, final int batchSize, final double learningRate, final double warmupFraction,
                final double weightDecay, final long seed, final int threads, final double distillWeight,
                final double temperature, final boolean balancedClasses, final double dropout) {
            this(epochs, batchSize, learningRate, warmupFraction, weightDecay, seed, threads, distillWeight,
                    temperature, balancedClasses, dropout, 0);
        }

        /** The settings without class weights or dropout. */
        public Settings(final int epochs, final int batchSize, final double learningRate, final double warmupFraction,
                final double weightDecay, final long seed, final int threads, final double distillWeight,
                final double temperature) {
            this(epochs, batchSize, learningRate, warmupFraction, weightDecay, seed, threads, distillWeight,
                    temperature, false, 0, 0);
        }
    }

    /** What to do after each epoch: evaluate, save a checkpoint. */
    public interface EpochListener {
        /**
         * @param epoch the finished epoch, from 1
         * @param model the weights after it
         * @throws IOException when a checkpoint cannot be written
         */
        void epochDone(int epoch, Checkpoint model) throws IOException;
    }

    private ModelTrainer() {
    }

    /**
     * Trains.
     *
     * @param initial the starting weights (and architecture)
     * @param examples the training examples
     * @param teacher teacher probabilities per example (same order), or null
     * @param s the settings
     * @param progress where progress lines go
     * @param listener called after every epoch
     * @return the trained weights
     * @throws IOException when the listener fails
     */
    public static Checkpoint train(final Checkpoint initial, final List<Example> examples, final float[][] teacher,
            final Settings s, final PrintStream progress, final EpochListener listener) throws IOException {
        IntraOpThreads.apply(s.threads());
        final int stepsPerEpoch = (examples.size() + s.batchSize() - 1) / s.batchSize();
        final int totalSteps = stepsPerEpoch * s.epochs();
        final LearningRate schedule = new LearningRate(s.learningRate(),
                Math.max(1, (int) Math.round(totalSteps * s.warmupFraction())), totalSteps);
        final Engine engine = Engine.getEngine(SharedEncoder.ENGINE);
        engine.setRandomSeed((int) s.seed());
        Checkpoint current = initial;
        try (SharedEncoder encoder = SharedEncoder.forTraining(initial, (float) s.dropout());
                NDManager base = engine.newBaseManager()) {
            final AdamW optimizer = new AdamW(base, 0.9, 0.999, 1e-6, s.weightDecay());
            final Map<String, NDArray> params = encoder.parameters();
            final Progress bar = new Progress(progress, totalSteps, s.batchSize());
            final float[] classWeights = classWeights(examples, encoder.config().numLabels(), s.balancedClasses());
            int step = 0;
            for (int epoch = 1; epoch <= s.epochs(); epoch++) {
                final List<Integer> order = shuffled(examples.size(), s.seed(), epoch);
                for (int start = 0; start < order.size(); start += s.batchSize(), step++) {
                    final List<Integer> batch = order.subList(start, Math.min(order.size(), start + s.batchSize()));
                    final float loss = step(encoder, optimizer, params, examples, teacher, classWeights, batch, s,
                            schedule.at(step), base);
                    bar.step(epoch, loss, schedule.at(step));
                }
                current = snapshot(encoder);
                bar.epochDone(epoch);
                listener.epochDone(epoch, current);
            }
        }
        return current;
    }

    private static float step(final SharedEncoder encoder, final AdamW optimizer, final Map<String, NDArray> params,
            final List<Example> examples, final float[][] teacher, final float[] classWeights,
            final List<Integer> batch, final Settings s, final double learningRate, final NDManager base) {
        try (NDManager scratch = base.newSubManager()) {
            final List<EncoderInput> inputs = new ArrayList<>(batch.size());
            final int classes = encoder.config().numLabels();
            final float[] target = new float[batch.size() * classes];
            final float[] weight = new float[batch.size()];
            for (int i = 0; i < batch.size(); i++) {
                final Example e = examples.get(batch.get(i));
                inputs.add(EncoderInput.of(e.tokenIds()));
                weight[i] = classWeights[e.label()];
                for (int c = 0; c < classes; c++) {
                    final float hard = e.label() == c ? 1f : 0f;
                    target[i * classes + c] = teacher == null ? hard
                            : (float) ((1 - s.distillWeight()) * hard + s.distillWeight() * teacher[batch.get(i)][c]);
                }
            }
            final float value;
            try (GradientCollector collector = Engine.getEngine(SharedEncoder.ENGINE).newGradientCollector()) {
                final NDArray targets = scratch.create(target, new Shape(batch.size(), classes));
                final NDArray weights = scratch.create(weight, new Shape(batch.size()));
                final NDArray loss;
                if (encoder.config().exits() == ExitHeads.NONE) {
                    loss = crossEntropy(encoder.forward(scratch, inputs, false).logits(), targets, weights, teacher, s);
                } else {
                    loss = exitsLoss(encoder.logitsAtEveryDepth(scratch,
                            EncoderBatch.of(encoder.config(), inputs), false), targets, weights, teacher, s);
                }
                collector.backward(loss);
                value = loss.getFloat();
            }
            return update(optimizer, params, learningRate, scratch, value);
        }
    }

    private static NDArray crossEntropy(final NDArray logits, final NDArray targets, final NDArray weights,
            final float[][] teacher, final Settings s) {
        final NDArray scaled = teacher == null ? logits : logits.div(s.temperature());
        return scaled.logSoftmax(-1).mul(targets).sum(new int[] {1}).neg().mul(weights).mean();
    }

    /**
     * The loss of a model with exit heads: the cross-entropy of every exit, depth i weighted by i
     * (PABEE's weighting: deeper exits, which see more, count more), normalised by the weights' sum.
     * With exit distillation the earlier exits learn from the last exit's probabilities too (held
     * fixed: the last exit learns from the labels alone).
     */
    private static NDArray exitsLoss(final List<NDArray> depths, final NDArray targets, final NDArray weights,
            final float[][] teacher, final Settings s) {
        final int n = depths.size();
        final NDArray last = depths.get(n - 1);
        final NDArray lastProbabilities = s.exitDistill() > 0 ? last.stopGradient().softmax(-1) : null;
        NDArray sum = null;
        for (int i = 0; i < n; i++) {
            final NDArray t = lastProbabilities == null || i == n - 1 ? targets
                    : targets.mul((float) (1 - s.exitDistill())).add(lastProbabilities.mul((float) s.exitDistill()));
            final NDArray term = crossEntropy(depths.get(i), t, weights, teacher, s).mul((float) (i + 1));
            sum = sum == null ? term : sum.add(term);
        }
        return sum.div(n * (n + 1) / 2f);
    }

    /** The order of an epoch: 0..n-1 shuffled by the seed and the epoch, the same in every run. */
    static List<Integer> shuffled(final int n, final long seed, final int epoch) {
        final List<Integer> order = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            order.add(i);
        }
        Collections.shuffle(order, new Random(seed * 1000 + epoch));
        return order;
    }

    /**
     * The end of a step, after the backward pass: one AdamW update with global-norm clipping, the
     * gradients zeroed for the next step.
     *
     * @return the step's loss, or NaN when the gradient was not finite and the update was skipped
     */
    static float update(final AdamW optimizer, final Map<String, NDArray> params, final double learningRate,
            final NDManager scratch, final float loss) {
        final double norm = optimizer.update(params, learningRate, MAX_GRADIENT_NORM, scratch);
        for (final NDArray p : params.values()) {
            // zero_() in place: subtracting a gradient from itself would keep NaN and infinity.
            JniUtils.zeroGrad((PtNDArray) p);
        }
        return Double.isFinite(norm) ? loss : Float.NaN;
    }

    /**
     * Loss weight per class: 1 each, or with balancing n / (classes x n of the class), so that every class
     * weighs as much in the loss as if the classes were equally frequent (scikit-learn's "balanced").
     */
    static float[] classWeights(final List<Example> examples, final int classes, final boolean balanced) {
        final float[] weights = new float[classes];
        java.util.Arrays.fill(weights, 1f);
        if (balanced) {
            final long[] counts = new long[classes];
            for (final Example e : examples) {
                counts[e.label()]++;
            }
            for (int c = 0; c < classes; c++) {
                weights[c] = counts[c] == 0 ? 0f : (float) examples.size() / (classes * counts[c]);
            }
        }
        return weights;
    }

    /**
     * The encoder's current weights as a checkpoint.
     *
     * @param encoder the encoder
     * @return a checkpoint with F32 tensors
     */
    public static Checkpoint snapshot(final SharedEncoder encoder) {
        final Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (final ParameterSpec spec : ParameterLayout.of(encoder.config())) {
            tensors.put(spec.name(), Tensor.ofFloats(spec.shape(), encoder.parameters().get(spec.name()).toFloatArray()));
        }
        return new Checkpoint(encoder.config(), tensors);
    }

    /**
     * A teacher's probabilities for each example, for distillation.
     *
     * @param teacher the teacher model
     * @param examples the examples
     * @param temperature softmax temperature
     * @return probabilities per example
     */
    public static float[][] teacherProbabilities(final InferenceModel teacher, final List<Example> examples,
            final double temperature) {
        final float[][] out = new float[examples.size()][];
        final int batch = 32;
        for (int start = 0; start < examples.size(); start += batch) {
            final List<EncoderInput> inputs = new ArrayList<>();
            for (int i = start; i < Math.min(examples.size(), start + batch); i++) {
                inputs.add(EncoderInput.of(examples.get(i).tokenIds()));
            }
            final List<ModelOutput> outputs = teacher.predict(inputs);
            for (int i = 0; i < outputs.size(); i++) {
                out[start + i] = ModelOutput.softmax(outputs.get(i).logits(), temperature);
            }
        }
        return out;
    }

    /** Progress lines: step, loss, learning rate, throughput and ETA. */
    static final class Progress {
        private final PrintStream out;
        private final int total;
        private final int batchSize;
        private final long start = System.nanoTime();
        private final int every;
        private int done;
        private double smoothed = Double.NaN;
        private int skipped;

        Progress(final PrintStream out, final int total, final int batchSize) {
            this.out = out;
            this.total = total;
            this.batchSize = batchSize;
            this.every = Math.max(1, total / 50);
        }

        void step(final int epoch, final float loss, final double lr) {
            done++;
            if (Float.isNaN(loss)) {
                skipped++;
            } else {
                smoothed = Double.isNaN(smoothed) ? loss : 0.9 * smoothed + 0.1 * loss;
            }
            if (done % every == 0 || done == total) {
                final double seconds = (System.nanoTime() - start) / 1e9;
                final double eta = seconds / done * (total - done);
                final int width = 30;
                final int filled = (int) ((long) width * done / total);
                out.printf(Locale.ROOT, "[%s%s] %3d%% epoch %d step %d/%d loss %.4f lr %.2e %.1f ex/s ETA %s%s%n",
                        "#".repeat(filled), ".".repeat(width - filled), 100 * done / total, epoch, done, total,
                        smoothed, lr, done * (double) batchSize / seconds, duration(eta),
                        skipped == 0 ? "" : " (" + skipped + " steps skipped: non-finite gradient)");
            }
        }

        void epochDone(final int epoch) {
            out.printf(Locale.ROOT, "epoch %d done after %s%n", epoch, duration((System.nanoTime() - start) / 1e9));
        }

        private static String duration(final double seconds) {
            final long s = Math.round(seconds);
            return s >= 60 ? (s / 60) + "m" + String.format(Locale.ROOT, "%02d", s % 60) + "s" : s + "s";
        }
    }
}
