package dev.streamformer.model;

/**
 * The model's answer for one sequence.
 *
 * @param logits the class scores before softmax
 * @param probabilities softmax of the logits
 */
public record ModelOutput(float[] logits, float[] probabilities) {

    /**
     * The output of one row of a batch's logits.
     *
     * @param logits B x C logits, row-major
     * @param row the row
     * @param classes C
     * @return the row's logits and their softmax
     */
    static ModelOutput ofRow(final float[] logits, final int row, final int classes) {
        final float[] z = java.util.Arrays.copyOfRange(logits, row * classes, (row + 1) * classes);
        return new ModelOutput(z, softmax(z, 1));
    }

    /**
     * Softmax at a temperature, computed stably (the largest scaled logit is subtracted first).
     *
     * @param logits the class scores
     * @param temperature 1 for probabilities; above 1 softens them (distillation)
     * @return the probabilities
     */
    public static float[] softmax(final float[] logits, final double temperature) {
        double max = Double.NEGATIVE_INFINITY;
        for (final float l : logits) {
            max = Math.max(max, l / temperature);
        }
        double sum = 0;
        for (final float l : logits) {
            sum += Math.exp(l / temperature - max);
        }
        final float[] p = new float[logits.length];
        for (int i = 0; i < p.length; i++) {
            p[i] = (float) (Math.exp(logits[i] / temperature - max) / sum);
        }
        return p;
    }

    /** @return the index of the most probable class */
    public int argmax() {
        int best = 0;
        for (int i = 1; i < probabilities.length; i++) {
            if (probabilities[i] > probabilities[best]) {
                best = i;
            }
        }
        return best;
    }

    /**
     * @param labels the model's labels, in index order
     * @return each label's probability, in label order, as the double nearest the float's shortest
     *     decimal (0.9876543 rather than 0.9876543283462524 in JSON and in Prediction records)
     */
    public java.util.Map<String, Double> byLabel(final java.util.List<String> labels) {
        final java.util.Map<String, Double> out = new java.util.LinkedHashMap<>();
        for (int i = 0; i < labels.size(); i++) {
            out.put(labels.get(i), Double.parseDouble(Float.toString(probabilities[i])));
        }
        return out;
    }
}
