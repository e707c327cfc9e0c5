package dev.streamformer.model;

/**
 * The model's answer for one sequence.
 *
 * @param logits the class scores before softmax
 * @param probabilities softmax of the logits
 * @param pooled the pooled first-token vector (H values)
 */
public record ModelOutput(float[] logits, float[] probabilities, float[] pooled) {

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
