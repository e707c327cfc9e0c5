package dev.streamformer.train;

import java.util.LinkedHashMap;
import java.util.Map;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * AdamW (Loshchilov and Hutter 2019): Adam with weight decay applied to the weights directly, not
 * through the gradient. Biases and LayerNorm parameters are not decayed. Updates happen in place,
 * outside any gradient recording, so a tensor shared by many layers is updated once with its
 * accumulated gradient.
 */
public final class AdamW {

    private final double beta1;
    private final double beta2;
    private final double epsilon;
    private final double weightDecay;
    private final NDManager stateManager;
    private final Map<String, NDArray> first = new LinkedHashMap<>();
    private final Map<String, NDArray> second = new LinkedHashMap<>();
    private long step;

    /**
     * @param stateManager owns the moment estimates
     * @param beta1 decay of the first moment
     * @param beta2 decay of the second moment
     * @param epsilon numerical floor
     * @param weightDecay decoupled decay rate
     */
    public AdamW(final NDManager stateManager, final double beta1, final double beta2, final double epsilon,
            final double weightDecay) {
        this.stateManager = stateManager;
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.epsilon = epsilon;
        this.weightDecay = weightDecay;
    }

    /**
     * Applies one update to every parameter from its gradient.
     *
     * @param parameters the parameters by name
     * @param learningRate this step's learning rate
     * @param maxGradientNorm the global gradient norm is clipped to this (0 = no clipping)
     * @param scratch owns this step's temporaries
     * @return the global gradient norm before clipping; when it is not finite the step is skipped
     */
    public double update(final Map<String, NDArray> parameters, final double learningRate, final double maxGradientNorm,
            final NDManager scratch) {
        step++;
        double squares = 0;
        for (final NDArray w : parameters.values()) {
            final NDArray g = w.getGradient();
            g.attach(scratch);
            squares += g.square().sum().getFloat();
        }
        final double norm = Math.sqrt(squares);
        if (!Double.isFinite(norm)) {
            // A non-finite gradient would poison the moments and then every weight: skip the step.
            return norm;
        }
        final double clip = maxGradientNorm > 0 && norm > maxGradientNorm ? maxGradientNorm / norm : 1.0;
        final double correction1 = 1 - Math.pow(beta1, step);
        final double correction2 = 1 - Math.pow(beta2, step);
        for (final Map.Entry<String, NDArray> e : parameters.entrySet()) {
            final NDArray w = e.getValue();
            final NDArray raw = w.getGradient();
            raw.attach(scratch);
            final NDArray g = clip == 1.0 ? raw : raw.mul(clip);
            final NDArray m = first.computeIfAbsent(e.getKey(), k -> stateManager.zeros(w.getShape()));
            final NDArray v = second.computeIfAbsent(e.getKey(), k -> stateManager.zeros(w.getShape()));
            m.muli(beta1).addi(g.mul(1 - beta1));
            v.muli(beta2).addi(g.square().mul(1 - beta2));
            final NDArray mHat = m.div(correction1);
            mHat.attach(scratch);
            final NDArray vHat = v.div(correction2);
            vHat.attach(scratch);
            final NDArray update = mHat.div(vHat.sqrt().add(epsilon)).mul(learningRate);
            if (weightDecay > 0 && decays(e.getKey())) {
                final NDArray decay = w.mul(learningRate * weightDecay);
                decay.attach(scratch);
                w.subi(decay);
            }
            w.subi(update);
        }
        return norm;
    }

    private static boolean decays(final String name) {
        return name.endsWith(".weight") && !name.contains("LayerNorm") && !name.contains("layer_norm");
    }
}
