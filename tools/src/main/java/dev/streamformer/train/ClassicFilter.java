package dev.streamformer.train;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

import dev.streamformer.corpus.Corpus;

/**
 * The classic spam filter every compact model here is measured against: TF-IDF of word unigrams and
 * bigrams and of character 3-5-grams within words, logistic regression with balanced class weights.
 * Features are hashed into 2^20 slots (the hashing trick: no vocabulary to store), term
 * frequencies are sublinear (1 + ln tf), IDF is smoothed as scikit-learn's ({@code ln((1 + n) /
 * (1 + df)) + 1}), each message's vector has unit length. Training is Adagrad on the logistic loss
 * with an L2 penalty, a fixed number of epochs over the shuffled training part.
 */
public final class ClassicFilter {

    /** What the filter is, in one line for tables. */
    public static final String DESCRIPTION = "TF-IDF of word 1-2-grams and character 3-5-grams within words, hashed"
            + " into 2^20 slots, logistic regression with balanced class weights";

    /** Hashed feature slots. */
    static final int DIMENSIONS = 1 << 20;

    private final float[] idf;
    private final float[] weights;
    private float bias;

    /**
     * How the filter trains.
     *
     * @param epochs passes over the training part
     * @param learningRate Adagrad's step size
     * @param l2 the L2 penalty per example
     * @param seed the shuffle seed
     */
    public record Settings(int epochs, double learningRate, double l2, long seed) {
        /** @return the settings the trade-off table uses */
        public static Settings defaults() {
            return new Settings(15, 0.5, 1e-6, 42);
        }
    }

    private ClassicFilter(final float[] idf, final float[] weights, final float bias) {
        this.idf = idf;
        this.weights = weights;
        this.bias = bias;
    }

    /** A message as sparse, L2-normalised TF-IDF: sorted slot indices and their values. */
    record Vector(int[] index, float[] value) {
    }

    /**
     * Trains a filter.
     *
     * @param train the training messages (label 1 = spam)
     * @param settings epochs, step, penalty, seed
     * @return the trained filter
     */
    public static ClassicFilter train(final List<Corpus.Message> train, final Settings settings) {
        final List<int[]> counted = new ArrayList<>(train.size());
        final List<float[]> counts = new ArrayList<>(train.size());
        final int[] df = new int[DIMENSIONS];
        for (final Corpus.Message m : train) {
            final Counts c = count(m.text());
            counted.add(c.index);
            counts.add(c.tf);
            for (final int i : c.index) {
                df[i]++;
            }
        }
        final float[] idf = new float[DIMENSIONS];
        final int n = train.size();
        for (int i = 0; i < DIMENSIONS; i++) {
            idf[i] = (float) (Math.log((1.0 + n) / (1.0 + df[i])) + 1.0);
        }
        final ClassicFilter filter = new ClassicFilter(idf, new float[DIMENSIONS], 0f);
        final List<Vector> vectors = new ArrayList<>(n);
        for (int k = 0; k < n; k++) {
            vectors.add(filter.weigh(counted.get(k), counts.get(k)));
        }
        final long spam = train.stream().filter(m -> m.label() == 1).count();
        // Balanced: each class weighs as much as the other in the loss, whatever its share.
        final double spamWeight = n / (2.0 * spam);
        final double hamWeight = n / (2.0 * (n - spam));
        final double[] squares = new double[DIMENSIONS];
        double biasSquares = 0;
        final int[] order = new int[n];
        Arrays.setAll(order, i -> i);
        final SplittableRandom random = new SplittableRandom(settings.seed());
        for (int epoch = 0; epoch < settings.epochs(); epoch++) {
            shuffle(order, random);
            for (final int k : order) {
                final Vector v = vectors.get(k);
                final int y = train.get(k).label();
                final double p = sigmoid(filter.score(v));
                final double g = (p - y) * (y == 1 ? spamWeight : hamWeight);
                for (int f = 0; f < v.index.length; f++) {
                    final int i = v.index[f];
                    final double grad = g * v.value[f] + settings.l2() * filter.weights[i];
                    squares[i] += grad * grad;
                    filter.weights[i] -= (float) (settings.learningRate() * grad / Math.sqrt(squares[i] + 1e-8));
                }
                biasSquares += g * g;
                filter.bias -= (float) (settings.learningRate() * g / Math.sqrt(biasSquares + 1e-8));
            }
        }
        return filter;
    }

    /**
     * Out-of-fold probabilities: the messages are dealt into {@code folds} parts (shuffled by the
     * settings' seed) and each part is scored by a filter trained on the others, so that no message
     * is scored by a filter that saw it. These are honest soft targets for distilling the filter into
     * another model on the same training messages; a filter's scores on its own training messages
     * are near 0 and 1 and would teach nothing the labels do not.
     *
     * @param messages the messages (label 1 = spam)
     * @param folds parts, at least 2
     * @param settings how each fold's filter trains
     * @param progress called with the fold just finished (1-based), or null
     * @return p(spam) of each message, in the messages' order
     */
    public static double[] outOfFold(final List<Corpus.Message> messages, final int folds, final Settings settings,
            final java.util.function.IntConsumer progress) {
        if (folds < 2 || folds > messages.size()) {
            throw new IllegalArgumentException("folds must be 2-" + messages.size() + ", got " + folds);
        }
        final int[] fold = new int[messages.size()];
        final int[] order = new int[messages.size()];
        Arrays.setAll(order, i -> i);
        shuffle(order, new SplittableRandom(settings.seed()));
        for (int k = 0; k < order.length; k++) {
            fold[order[k]] = k % folds;
        }
        final double[] p = new double[messages.size()];
        for (int f = 0; f < folds; f++) {
            final List<Corpus.Message> rest = new ArrayList<>();
            for (int i = 0; i < fold.length; i++) {
                if (fold[i] != f) {
                    rest.add(messages.get(i));
                }
            }
            final ClassicFilter filter = train(rest, settings);
            for (int i = 0; i < fold.length; i++) {
                if (fold[i] == f) {
                    p[i] = filter.spamProbability(messages.get(i).text());
                }
            }
            if (progress != null) {
                progress.accept(f + 1);
            }
        }
        return p;
    }

    /**
     * @param text a message's subject and body
     * @return the probability that it is spam
     */
    public double spamProbability(final String text) {
        final Counts c = count(text);
        return sigmoid(score(weigh(c.index, c.tf)));
    }

    /**
     * What the filter scores on held-out messages.
     *
     * @param evaluation accuracy, F1, ROC-AUC
     * @param messagesPerSecond one thread classifying the messages from their text, the median of 3 passes
     * @param spamProbabilities each message's p(spam), in the messages' order
     */
    public record Result(Evaluation evaluation, double messagesPerSecond, double[] spamProbabilities) {
    }

    /**
     * @param filter a trained filter
     * @param messages held-out messages
     * @return its scores and speed on them
     */
    public static Result evaluate(final ClassicFilter filter, final List<Corpus.Message> messages) {
        final int[] labels = messages.stream().mapToInt(Corpus.Message::label).toArray();
        final double[] p = new double[messages.size()];
        final double[] rates = new double[3];
        for (int pass = 0; pass < rates.length; pass++) {
            final long start = System.nanoTime();
            for (int i = 0; i < p.length; i++) {
                p[i] = filter.spamProbability(messages.get(i).text());
            }
            rates[pass] = p.length / ((System.nanoTime() - start) / 1e9);
        }
        Arrays.sort(rates);
        return new Result(Evaluation.of(labels, p), rates[1], p);
    }

    /**
     * @param filter a trained filter
     * @param messages messages to classify, over and over
     * @param callers threads classifying at once
     * @return messages per second over all callers, the median of 3 rounds
     */
    public static double throughput(final ClassicFilter filter, final List<Corpus.Message> messages, final int callers) {
        final double[] rates = new double[3];
        for (int round = 0; round < rates.length; round++) {
            final long start = System.nanoTime();
            final java.util.stream.IntStream work = java.util.stream.IntStream.range(0, callers);
            final java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(callers);
            try {
                final List<java.util.concurrent.Future<?>> done = new ArrayList<>();
                work.forEach(c -> done.add(pool.submit(() -> {
                    for (final Corpus.Message m : messages) {
                        filter.spamProbability(m.text());
                    }
                })));
                for (final java.util.concurrent.Future<?> f : done) {
                    f.get();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            } catch (java.util.concurrent.ExecutionException e) {
                throw new IllegalStateException(e.getCause());
            } finally {
                pool.shutdown();
            }
            rates[round] = (double) callers * messages.size() / ((System.nanoTime() - start) / 1e9);
        }
        Arrays.sort(rates);
        return rates[1];
    }

    /** @return the stored parameters: one weight per slot, and the bias */
    public long parameters() {
        return weights.length + 1L;
    }

    /** @return the bytes of the weights and the IDF table as fp32 */
    public long bytes() {
        return 4L * (weights.length + idf.length + 1L);
    }

    private double score(final Vector v) {
        double z = bias;
        for (int f = 0; f < v.index.length; f++) {
            z += weights[v.index[f]] * v.value[f];
        }
        return z;
    }

    private Vector weigh(final int[] index, final float[] tf) {
        final float[] value = new float[index.length];
        double norm = 0;
        for (int f = 0; f < index.length; f++) {
            value[f] = (float) ((1 + Math.log(tf[f])) * idf[index[f]]);
            norm += value[f] * value[f];
        }
        final float scale = norm == 0 ? 0f : (float) (1 / Math.sqrt(norm));
        for (int f = 0; f < value.length; f++) {
            value[f] *= scale;
        }
        return new Vector(index, value);
    }

    /** Fisher-Yates, in place. */
    private static void shuffle(final int[] order, final SplittableRandom random) {
        for (int i = order.length - 1; i > 0; i--) {
            final int j = random.nextInt(i + 1);
            final int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
    }

    private static double sigmoid(final double z) {
        return 1 / (1 + Math.exp(-z));
    }

    /** Term counts of one message: distinct slots, sorted, and their counts. */
    record Counts(int[] index, float[] tf) {
    }

    static Counts count(final String text) {
        final String lower = text.toLowerCase(Locale.ROOT);
        final List<String> words = new ArrayList<>();
        int start = -1;
        for (int i = 0; i <= lower.length(); i++) {
            final boolean inWord = i < lower.length() && (Character.isLetterOrDigit(lower.charAt(i))
                    || "$%!@.:/_-'".indexOf(lower.charAt(i)) >= 0);
            if (inWord && start < 0) {
                start = i;
            } else if (!inWord && start >= 0) {
                words.add(lower.substring(start, i));
                start = -1;
            }
        }
        final int[] slots = new int[words.size() * 2 + words.stream().mapToInt(w -> 3 * (w.length() + 2)).sum()];
        int n = 0;
        for (int w = 0; w < words.size(); w++) {
            final String word = words.get(w);
            slots[n++] = slot(1, word, null);
            if (w > 0) {
                slots[n++] = slot(2, words.get(w - 1), word);
            }
            final String padded = " " + word + " ";
            for (int len = 3; len <= 5; len++) {
                for (int i = 0; i + len <= padded.length(); i++) {
                    slots[n++] = slot(3, padded.substring(i, i + len), null);
                }
            }
        }
        final int[] sorted = Arrays.copyOf(slots, n);
        Arrays.sort(sorted);
        int distinct = 0;
        for (int i = 0; i < sorted.length; i++) {
            if (i == 0 || sorted[i] != sorted[i - 1]) {
                distinct++;
            }
        }
        final int[] index = new int[distinct];
        final float[] tf = new float[distinct];
        int d = -1;
        for (int i = 0; i < sorted.length; i++) {
            if (i == 0 || sorted[i] != sorted[i - 1]) {
                index[++d] = sorted[i];
            }
            tf[d]++;
        }
        return new Counts(index, tf);
    }

    /** FNV-1a over the kind and the text, folded into the slot range. */
    private static int slot(final int kind, final String a, final String b) {
        long h = 0xcbf29ce484222325L ^ kind;
        h *= 0x100000001b3L;
        for (int i = 0; i < a.length(); i++) {
            h ^= a.charAt(i);
            h *= 0x100000001b3L;
        }
        if (b != null) {
            h ^= ' ';
            h *= 0x100000001b3L;
            for (int i = 0; i < b.length(); i++) {
                h ^= b.charAt(i);
                h *= 0x100000001b3L;
            }
        }
        h ^= h >>> 29;
        return (int) (h & (DIMENSIONS - 1));
    }
}
