package dev.streamformer.train;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.core.Embedding;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.GradientCollector;

import dev.streamformer.engine.pytorch.IntraOpThreads;
import dev.streamformer.engine.pytorch.SharedEncoder;
import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.EncoderBatch;
import dev.streamformer.model.EncoderInput;
import dev.streamformer.model.ModelConfig;
import dev.streamformer.model.ParameterLayout;

/**
 * Masked-language-model pre-training of the encoder on unlabelled text (BERT, Devlin et al. 2019;
 * ALBERT's MLM head): in each sequence a share of the ordinary tokens is chosen, 80 % of them
 * replaced by [MASK], 10 % by a random token and 10 % left, and the encoder learns to predict the
 * original token there. The head (H to E dense, GELU, LayerNorm, then the word embeddings
 * themselves as the decoder, plus a bias) exists only during pre-training; what is returned is the
 * encoder, ready for {@link ModelTrainer} to fine-tune on labels. The pooler and classifier are
 * left as they were (they get no gradient from this objective).
 */
public final class MaskedLanguageModel {

    /** Token ids below this are special ([PAD], [UNK], [CLS], [SEP], [MASK] in the project's vocabularies). */
    public static final int FIRST_ORDINARY_ID = 5;
    /** The [MASK] id of the project's vocabularies. */
    public static final int MASK_ID = 4;

    /**
     * Pre-training settings.
     *
     * @param epochs passes over the texts
     * @param batchSize sequences per step
     * @param learningRate peak learning rate
     * @param warmupFraction share of the steps spent warming up, then linear decay
     * @param weightDecay AdamW decay
     * @param seed masking and shuffling seed
     * @param threads intra-op threads
     * @param maskRate share of ordinary tokens chosen per sequence
     */
    public record Settings(int epochs, int batchSize, double learningRate, double warmupFraction, double weightDecay,
            long seed, int threads, double maskRate) {
    }

    /** A masked batch: the inputs with replacements, the chosen positions in B x S order, their original ids. */
    record Masked(List<EncoderInput> inputs, long[] positions, int[] targets) {
    }

    private MaskedLanguageModel() {
    }

    /**
     * Pre-trains.
     *
     * @param initial the starting weights (and architecture)
     * @param texts token ids of the texts, [CLS] first
     * @param s the settings
     * @param progress where progress lines go
     * @param listener called after every epoch with the encoder's weights
     * @return the pre-trained weights
     * @throws java.io.IOException when the listener fails
     */
    public static Checkpoint pretrain(final Checkpoint initial, final List<int[]> texts, final Settings s,
            final PrintStream progress, final ModelTrainer.EpochListener listener) throws java.io.IOException {
        IntraOpThreads.apply(s.threads());
        final ModelConfig c = initial.config();
        final int stepsPerEpoch = (texts.size() + s.batchSize() - 1) / s.batchSize();
        final int totalSteps = stepsPerEpoch * s.epochs();
        final LearningRate schedule = new LearningRate(s.learningRate(),
                Math.max(1, (int) Math.round(totalSteps * s.warmupFraction())), totalSteps);
        final Random random = new Random(s.seed());
        Checkpoint current = initial;
        try (SharedEncoder encoder = SharedEncoder.forTraining(initial);
                NDManager base = Engine.getEngine(SharedEncoder.ENGINE).newBaseManager()) {
            final Map<String, NDArray> params = new LinkedHashMap<>(encoder.parameters());
            // The pooler and classifier are not on this objective's path: they get no gradient, so no update.
            params.keySet().removeIf(n -> n.startsWith(ParameterLayout.POOLER_PREFIX + ".")
                    || n.startsWith(ParameterLayout.CLASSIFIER_PREFIX + "."));
            final Head head = new Head(base, c, random);
            params.putAll(head.parameters());
            final AdamW optimizer = new AdamW(base, 0.9, 0.999, 1e-6, s.weightDecay());
            final ModelTrainer.Progress bar = new ModelTrainer.Progress(progress, totalSteps, s.batchSize());
            int step = 0;
            for (int epoch = 1; epoch <= s.epochs(); epoch++) {
                final List<Integer> order = ModelTrainer.shuffled(texts.size(), s.seed(), epoch);
                for (int start = 0; start < order.size(); start += s.batchSize(), step++) {
                    final List<int[]> batch = new ArrayList<>();
                    for (final int i : order.subList(start, Math.min(order.size(), start + s.batchSize()))) {
                        batch.add(texts.get(i));
                    }
                    final Masked masked = mask(batch, c.vocabSize(), s.maskRate(), random);
                    final float loss = masked.targets().length == 0 ? Float.NaN
                            : step(encoder, head, optimizer, params, masked, schedule.at(step), base);
                    bar.step(epoch, loss, schedule.at(step));
                }
                current = ModelTrainer.snapshot(encoder);
                bar.epochDone(epoch);
                listener.epochDone(epoch, current);
            }
        }
        return current;
    }

    /**
     * Cuts a text into consecutive windows for pre-training, so that the model reads more of a long
     * e-mail than its first {@code length} tokens: each window holds the text's next {@code length - 2}
     * tokens between its [CLS] and [SEP]; a text that fits is its own single window.
     *
     * @param ids token ids, [CLS] first and [SEP] last
     * @param length tokens per window, [CLS] and [SEP] included (at least 3)
     * @param most the most windows to cut (the text's start first)
     * @return the windows, at least one
     */
    public static List<int[]> windows(final int[] ids, final int length, final int most) {
        if (length < 3 || most < 1) {
            throw new IllegalArgumentException("a window needs at least 3 tokens and a text at least 1 window, got "
                    + length + " and " + most);
        }
        final int body = ids.length - 2;
        final int step = length - 2;
        final List<int[]> out = new ArrayList<>();
        for (int start = 0; out.isEmpty() || (start < body && out.size() < most); start += step) {
            final int n = Math.max(0, Math.min(step, body - start));
            final int[] window = new int[n + 2];
            window[0] = ids[0];
            System.arraycopy(ids, 1 + start, window, 1, n);
            window[n + 1] = ids[ids.length - 1];
            out.add(window);
        }
        return out;
    }

    /**
     * Chooses and replaces tokens: each ordinary token with probability maskRate (at least one per
     * sequence that has any), then 80 % [MASK], 10 % a random ordinary token, 10 % unchanged.
     */
    static Masked mask(final List<int[]> batch, final int vocabSize, final double maskRate, final Random random) {
        int longest = 0;
        for (final int[] ids : batch) {
            longest = Math.max(longest, ids.length);
        }
        final List<EncoderInput> inputs = new ArrayList<>();
        final List<Long> positions = new ArrayList<>();
        final List<Integer> targets = new ArrayList<>();
        for (int b = 0; b < batch.size(); b++) {
            final int[] ids = batch.get(b).clone();
            final List<Integer> chosen = new ArrayList<>();
            final List<Integer> ordinary = new ArrayList<>();
            for (int i = 0; i < ids.length; i++) {
                if (ids[i] >= FIRST_ORDINARY_ID) {
                    ordinary.add(i);
                    if (random.nextDouble() < maskRate) {
                        chosen.add(i);
                    }
                }
            }
            if (chosen.isEmpty() && !ordinary.isEmpty()) {
                chosen.add(ordinary.get(random.nextInt(ordinary.size())));
            }
            for (final int i : chosen) {
                positions.add((long) b * longest + i);
                targets.add(ids[i]);
                final double r = random.nextDouble();
                if (r < 0.8) {
                    ids[i] = MASK_ID;
                } else if (r < 0.9) {
                    ids[i] = FIRST_ORDINARY_ID + random.nextInt(vocabSize - FIRST_ORDINARY_ID);
                }
            }
            inputs.add(EncoderInput.of(ids));
        }
        return new Masked(inputs, positions.stream().mapToLong(Long::longValue).toArray(),
                targets.stream().mapToInt(Integer::intValue).toArray());
    }

    private static float step(final SharedEncoder encoder, final Head head, final AdamW optimizer,
            final Map<String, NDArray> params, final Masked masked, final double learningRate, final NDManager base) {
        final ModelConfig c = encoder.config();
        try (NDManager scratch = base.newSubManager()) {
            final EncoderBatch batch = EncoderBatch.of(c, masked.inputs());
            final int m = masked.targets().length;
            final float[] oneHot = new float[m * c.vocabSize()];
            for (int i = 0; i < m; i++) {
                oneHot[i * c.vocabSize() + masked.targets()[i]] = 1f;
            }
            final float value;
            try (GradientCollector collector = Engine.getEngine(SharedEncoder.ENGINE).newGradientCollector()) {
                final NDArray hidden = encoder.encode(scratch, batch, false)
                        .reshape(batch.size() * (long) batch.length(), c.hiddenSize());
                // Rows of the chosen positions: an embedding lookup into the hidden states, which back-propagates.
                final NDArray chosen = Embedding.embedding(scratch.create(masked.positions()), hidden,
                        SparseFormat.DENSE).singletonOrThrow();
                final NDArray logits = head.logits(chosen, encoder.parameters().get(ParameterLayout.WORD_EMBEDDINGS));
                final NDArray targets = scratch.create(oneHot, new Shape(m, c.vocabSize()));
                final NDArray loss = logits.logSoftmax(-1).mul(targets).sum(new int[] {1}).neg().mean();
                collector.backward(loss);
                value = loss.getFloat();
            }
            return ModelTrainer.update(optimizer, params, learningRate, scratch, value);
        }
    }

    /** ALBERT's MLM head: dense H to E, GELU, LayerNorm over E, decoder tied to the word embeddings, bias over V. */
    private static final class Head {
        private final NDArray denseWeight;
        private final NDArray denseBias;
        private final NDArray normWeight;
        private final NDArray normBias;
        private final NDArray decoderBias;
        private final ModelConfig config;

        Head(final NDManager manager, final ModelConfig c, final Random random) {
            this.config = c;
            final float[] w = new float[c.embeddingSize() * c.hiddenSize()];
            for (int i = 0; i < w.length; i++) {
                w[i] = (float) (0.02 * Math.max(-2, Math.min(2, random.nextGaussian())));
            }
            final float[] ones = new float[c.embeddingSize()];
            java.util.Arrays.fill(ones, 1f);
            denseWeight = parameter(manager, w, new Shape(c.embeddingSize(), c.hiddenSize()));
            denseBias = parameter(manager, new float[c.embeddingSize()], new Shape(c.embeddingSize()));
            normWeight = parameter(manager, ones, new Shape(c.embeddingSize()));
            normBias = parameter(manager, new float[c.embeddingSize()], new Shape(c.embeddingSize()));
            decoderBias = parameter(manager, new float[c.vocabSize()], new Shape(c.vocabSize()));
        }

        private static NDArray parameter(final NDManager manager, final float[] values, final Shape shape) {
            final NDArray a = manager.create(values, shape);
            a.setRequiresGradient(true);
            return a;
        }

        Map<String, NDArray> parameters() {
            final Map<String, NDArray> p = new LinkedHashMap<>();
            p.put("mlm.dense.weight", denseWeight);
            p.put("mlm.dense.bias", denseBias);
            p.put("mlm.LayerNorm.weight", normWeight);
            p.put("mlm.LayerNorm.bias", normBias);
            p.put("mlm.decoder.bias", decoderBias);
            return p;
        }

        NDArray logits(final NDArray hidden, final NDArray wordEmbeddings) {
            final NDArray dense = ai.djl.nn.Activation.gelu(Linear.linear(hidden, denseWeight, denseBias)
                    .singletonOrThrow());
            final NDArray normed = LayerNorm.layerNorm(dense, new Shape(config.embeddingSize()), normWeight, normBias,
                    (float) config.layerNormEps()).singletonOrThrow();
            return Linear.linear(normed, wordEmbeddings, decoderBias).singletonOrThrow();
        }
    }
}
