package dev.streamformer.train;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import dev.streamformer.model.EncoderInput;
import dev.streamformer.model.InferenceModel;
import dev.streamformer.model.ModelOutput;

/**
 * Binary classification metrics, spam (label 1) being the positive class.
 *
 * @param examples how many were scored
 * @param accuracy share predicted right
 * @param precision of spam
 * @param recall of spam
 * @param f1 of spam
 * @param rocAuc area under the ROC curve of p(spam)
 * @param confusion rows = truth (ham, spam), columns = prediction (ham, spam)
 */
public record Evaluation(int examples, double accuracy, double precision, double recall, double f1, double rocAuc,
        long[][] confusion) {

    /**
     * Scores a model on examples.
     *
     * @param model the model
     * @param examples the examples
     * @param batchSize sequences per forward pass
     * @return the metrics
     */
    public static Evaluation of(final InferenceModel model, final List<Example> examples, final int batchSize) {
        return of(labels(examples), spamProbabilities(model, examples, batchSize));
    }

    /**
     * The examples' labels.
     *
     * @param examples the examples
     * @return each example's label (1 = spam), in the examples' order
     */
    public static int[] labels(final List<Example> examples) {
        return examples.stream().mapToInt(Example::label).toArray();
    }

    /**
     * Scores examples one batch at a time.
     *
     * @param model the model
     * @param examples the examples
     * @param batchSize sequences per forward pass
     * @return p(spam) of each example, in the examples' order
     */
    public static double[] spamProbabilities(final InferenceModel model, final List<Example> examples,
            final int batchSize) {
        final double[] spam = new double[examples.size()];
        for (int start = 0; start < examples.size(); start += batchSize) {
            final List<EncoderInput> inputs = new ArrayList<>();
            for (int i = start; i < Math.min(examples.size(), start + batchSize); i++) {
                inputs.add(EncoderInput.of(examples.get(i).tokenIds()));
            }
            final List<ModelOutput> out = model.predict(inputs);
            for (int i = 0; i < out.size(); i++) {
                spam[start + i] = out.get(i).probabilities()[1];
            }
        }
        return spam;
    }

    /**
     * @param labels truth, 0 or 1
     * @param spamProbability p(spam) of each example
     * @return the metrics at threshold 0.5
     */
    public static Evaluation of(final int[] labels, final double[] spamProbability) {
        final long[][] confusion = new long[2][2];
        for (int i = 0; i < labels.length; i++) {
            confusion[labels[i]][spamProbability[i] >= 0.5 ? 1 : 0]++;
        }
        final double tp = confusion[1][1];
        final double fp = confusion[0][1];
        final double fn = confusion[1][0];
        final double precision = tp + fp == 0 ? 0 : tp / (tp + fp);
        final double recall = tp + fn == 0 ? 0 : tp / (tp + fn);
        final double f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
        final double accuracy = labels.length == 0 ? 0 : (confusion[0][0] + tp) / labels.length;
        return new Evaluation(labels.length, accuracy, precision, recall, f1, rocAuc(labels, spamProbability), confusion);
    }

    /** Mann-Whitney form of the ROC AUC, ties counted half. */
    private static double rocAuc(final int[] labels, final double[] scores) {
        final List<Integer> order = new ArrayList<>();
        for (int i = 0; i < labels.length; i++) {
            order.add(i);
        }
        order.sort(Comparator.comparingDouble(i -> scores[i]));
        double rankSum = 0;
        long positives = 0;
        int i = 0;
        while (i < order.size()) {
            int j = i;
            while (j + 1 < order.size() && scores[order.get(j + 1)] == scores[order.get(i)]) {
                j++;
            }
            final double averageRank = (i + j) / 2.0 + 1;
            for (int k = i; k <= j; k++) {
                if (labels[order.get(k)] == 1) {
                    rankSum += averageRank;
                    positives++;
                }
            }
            i = j + 1;
        }
        final long negatives = labels.length - positives;
        if (positives == 0 || negatives == 0) {
            return Double.NaN;
        }
        return (rankSum - positives * (positives + 1) / 2.0) / (positives * (double) negatives);
    }

    /** @return the metrics as a JSON-ready map */
    public Map<String, Object> toMap() {
        final Map<String, Object> m = new LinkedHashMap<>();
        m.put("examples", examples);
        m.put("accuracy", accuracy);
        m.put("spam_precision", precision);
        m.put("spam_recall", recall);
        m.put("spam_f1", f1);
        m.put("roc_auc", rocAuc);
        m.put("confusion", Map.of("ham_as_ham", confusion[0][0], "ham_as_spam", confusion[0][1],
                "spam_as_ham", confusion[1][0], "spam_as_spam", confusion[1][1]));
        return m;
    }

    /** @return a short table */
    public String toTable() {
        return String.format(Locale.ROOT, "examples %d  accuracy %.4f  spam precision %.4f  recall %.4f  F1 %.4f  ROC-AUC %.4f%n"
                + "confusion (rows truth, columns predicted)   ham    spam%n"
                + "                                      ham %6d  %6d%n"
                + "                                     spam %6d  %6d%n",
                examples, accuracy, precision, recall, f1, rocAuc, confusion[0][0], confusion[0][1], confusion[1][0],
                confusion[1][1]);
    }
}
