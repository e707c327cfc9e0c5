package dev.streamformer.train;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.ParameterLayout;
import dev.streamformer.model.SafeTensors.Tensor;

/**
 * Moves a classifier to traffic whose class shares differ from its training data's (prior shift,
 * as in Saerens et al., 2002): with p(c | x) learned under training shares pi_c, the probabilities
 * under served shares pi'_c are proportional to p(c | x) pi'_c / pi_c. Softmax makes that an
 * addition of log(pi'_c / pi_c) to the classifier's bias for class c, so the shifted model is an
 * ordinary model directory that every engine and export serves unchanged; nothing else moves.
 */
public final class PriorShift {

    private PriorShift() {
    }

    /**
     * @param source the trained model
     * @param trained each label's share of the training data, in label order, summing to 1
     * @param served each label's expected share of the traffic, in label order, summing to 1
     * @return the model with the classifier bias moved by log(served / trained)
     */
    public static Checkpoint shift(final Checkpoint source, final double[] trained, final double[] served) {
        final int labels = source.config().numLabels();
        check("training", trained, labels);
        check("served", served, labels);
        final String name = ParameterLayout.CLASSIFIER_PREFIX + ".bias";
        final float[] bias = source.floats(name);
        for (int c = 0; c < labels; c++) {
            bias[c] += (float) Math.log(served[c] / trained[c]);
        }
        final Map<String, Tensor> tensors = new LinkedHashMap<>(source.tensors());
        tensors.put(name, Tensor.ofFloats(new long[] {labels}, bias));
        return new Checkpoint(source.config(), tensors);
    }

    /**
     * Every label's share from the shares of some: the labels not given share what is left in the
     * proportions they have in {@code reference}.
     *
     * @param labels the model's labels, in id order
     * @param given shares of some labels, by name, each in (0, 1)
     * @param reference shares to split the remainder by (the training shares), in label order
     * @return every label's share, in label order
     */
    public static double[] complete(final List<String> labels, final Map<String, Double> given,
            final double[] reference) {
        double givenSum = 0;
        double otherReference = 0;
        for (final Map.Entry<String, Double> e : given.entrySet()) {
            if (!labels.contains(e.getKey())) {
                throw new IllegalArgumentException("No label '" + e.getKey() + "': the model's labels are " + labels);
            }
            if (!(e.getValue() > 0 && e.getValue() < 1)) {
                throw new IllegalArgumentException("The share of " + e.getKey() + " must be above 0 and below 1, got "
                        + e.getValue());
            }
            givenSum += e.getValue();
        }
        for (int c = 0; c < labels.size(); c++) {
            if (!given.containsKey(labels.get(c))) {
                otherReference += reference[c];
            }
        }
        final boolean all = given.size() == labels.size();
        if (all ? Math.abs(givenSum - 1) > 1e-6 : givenSum >= 1) {
            throw new IllegalArgumentException("The shares given add up to " + givenSum + ": they must add up to "
                    + (all ? "1" : "less than 1, leaving a share for " + labels.stream()
                            .filter(l -> !given.containsKey(l)).toList()));
        }
        final double[] shares = new double[labels.size()];
        for (int c = 0; c < labels.size(); c++) {
            final Double share = given.get(labels.get(c));
            shares[c] = share != null ? share : (1 - givenSum) * reference[c] / otherReference;
        }
        return shares;
    }

    private static void check(final String what, final double[] shares, final int labels) {
        if (shares.length != labels) {
            throw new IllegalArgumentException(what + " shares: " + shares.length + " values for " + labels + " labels");
        }
        double sum = 0;
        for (final double s : shares) {
            if (!(s > 0 && s < 1)) {
                throw new IllegalArgumentException(what + " shares must each be above 0 and below 1, got " + s);
            }
            sum += s;
        }
        if (Math.abs(sum - 1) > 1e-6) {
            throw new IllegalArgumentException(what + " shares must add up to 1, got " + sum);
        }
    }
}
