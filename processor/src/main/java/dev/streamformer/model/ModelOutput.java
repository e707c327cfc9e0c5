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
        float max = Float.NEGATIVE_INFINITY;
        for (final float v : z) {
            max = Math.max(max, v);
        }
        double sum = 0;
        final float[] p = new float[classes];
        for (int i = 0; i < classes; i++) {
            p[i] = (float) Math.exp(z[i] - max);
            sum += p[i];
        }
        for (int i = 0; i < classes; i++) {
            p[i] /= (float) sum;
        }
        return new ModelOutput(z, p);
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
}
