package dev.streamformer.model;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import dev.streamformer.model.SafeTensors.Tensor;

/** Small configs and checkpoints for tests. */
public final class TestModels {

    private TestModels() {
    }

    /** V=120, E=16, H=32, L=6, A=4, F=64, 40 positions, 2 segments, 2 labels. */
    public static ModelConfig small(final SharingPlan plan) {
        return new ModelConfig(120, 16, 32, 6, 4, 4, 64, 40, 2, Activation.GELU_NEW, 1e-12, true, plan,
                List.of("ham", "spam"));
    }

    /**
     * A checkpoint with large random values (weights N(0, 0.3), biases N(0, 0.1), LayerNorm gains
     * 1 + N(0, 0.1)) so that logits are far from zero and numeric comparisons are meaningful.
     */
    public static Checkpoint randomized(final ModelConfig config, final long seed) {
        final Random random = new Random(seed);
        final Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (final ParameterSpec spec : ParameterLayout.of(config)) {
            final float[] v = new float[Math.toIntExact(spec.count())];
            final boolean norm = spec.name().contains("LayerNorm") || spec.name().contains("layer_norm");
            for (int i = 0; i < v.length; i++) {
                final double g = random.nextGaussian();
                v[i] = (float) (norm && spec.name().endsWith(".weight") ? 1 + 0.1 * g
                        : spec.name().endsWith(".bias") ? 0.1 * g : 0.3 * g);
            }
            tensors.put(spec.name(), Tensor.ofFloats(spec.shape(), v));
        }
        return new Checkpoint(config, tensors);
    }

    /** A padded batch of four sequences of different lengths, one with an explicit mask and segments. */
    public static List<EncoderInput> paddedBatch() {
        return List.of(
                EncoderInput.of(2, 17, 33, 4, 99, 3),
                EncoderInput.of(2, 5, 3),
                new EncoderInput(new int[] {2, 8, 9, 10, 3, 11, 12, 3}, new int[] {1, 1, 1, 1, 1, 1, 1, 0},
                        new int[] {0, 0, 0, 0, 0, 1, 1, 1}),
                EncoderInput.of(2, 119, 0, 64, 3, 7, 7, 7, 7, 7, 7, 3));
    }
}
