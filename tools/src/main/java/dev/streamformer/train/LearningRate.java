package dev.streamformer.train;

/**
 * Linear warm-up to the peak learning rate, then linear decay to zero at the last step, as in
 * BERT and ALBERT fine-tuning.
 *
 * @param peak the peak learning rate
 * @param warmupSteps steps of warm-up
 * @param totalSteps all steps
 */
public record LearningRate(double peak, int warmupSteps, int totalSteps) {

    /**
     * @param step the step, from 0
     * @return its learning rate
     */
    public double at(final int step) {
        if (step < warmupSteps) {
            return peak * (step + 1) / warmupSteps;
        }
        final int remaining = Math.max(1, totalSteps - warmupSteps);
        return peak * Math.max(0.0, (double) (totalSteps - step) / remaining);
    }
}
