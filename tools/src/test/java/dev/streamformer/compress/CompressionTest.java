package dev.streamformer.compress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.Test;

import dev.streamformer.model.Activation;
import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.EncoderInput;
import dev.streamformer.model.InferenceModel;
import dev.streamformer.model.ModelConfig;
import dev.streamformer.model.ModelOutput;
import dev.streamformer.model.ParameterLayout;
import dev.streamformer.model.ParameterSpec;
import dev.streamformer.model.ParameterStats;
import dev.streamformer.model.SafeTensors.Tensor;
import dev.streamformer.model.SharingPlan;
import dev.streamformer.model.SharingStrategy;

class CompressionTest {

    private static final List<EncoderInput> BATCH = List.of(
            EncoderInput.of(2, 17, 33, 4, 99, 3), EncoderInput.of(2, 5, 3), EncoderInput.of(2, 60, 61, 62, 63, 64, 3));

    private static ModelConfig config(final SharingPlan plan) {
        return new ModelConfig(100, 16, 32, 6, 4, 4, 64, 32, 2, Activation.GELU_NEW, 1e-12, true, plan,
                List.of("ham", "spam"));
    }

    /** Large random weights, every layer of a plan-none model a copy of the same set. */
    private static Checkpoint identicalLayers() {
        final Checkpoint one = random(config(SharingPlan.ALL), 1);
        return Share.convert(one, SharingPlan.NONE, 4);
    }

    private static Checkpoint random(final ModelConfig config, final long seed) {
        final Random r = new Random(seed);
        final Map<String, Tensor> t = new LinkedHashMap<>();
        for (final ParameterSpec s : ParameterLayout.of(config)) {
            final float[] v = new float[(int) s.count()];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) (s.name().contains("LayerNorm") || s.name().contains("layer_norm")
                        ? (s.name().endsWith("weight") ? 1 + 0.1 * r.nextGaussian() : 0.1 * r.nextGaussian())
                        : 0.3 * r.nextGaussian());
            }
            t.put(s.name(), Tensor.ofFloats(s.shape(), v));
        }
        return new Checkpoint(config, t);
    }

    private static List<ModelOutput> run(final Checkpoint c) {
        try (InferenceModel m = new InferenceModel("m", "v", c)) {
            return m.predict(BATCH);
        }
    }

    private static void assertSameLogits(final List<ModelOutput> a, final List<ModelOutput> b, final float tolerance) {
        for (int i = 0; i < a.size(); i++) {
            assertThat(b.get(i).logits()).containsExactly(a.get(i).logits(), within(tolerance));
        }
    }

    @Test
    void sharingLayersThatAreAlreadyIdenticalChangesNoOutput() {
        final Checkpoint none = identicalLayers();
        final List<ModelOutput> before = run(none);
        for (final SharingPlan plan : List.of(SharingPlan.ALL, SharingPlan.ATTENTION_ONLY,
                SharingPlan.both(SharingStrategy.CYCLE, 3), SharingPlan.both(SharingStrategy.SEQUENCE, 2))) {
            final Checkpoint shared = Share.convert(none, plan, 4);
            assertThat(ParameterStats.of(shared).uniqueParameters()).isLessThan(ParameterStats.of(none).uniqueParameters());
            assertSameLogits(before, run(shared), 1e-5f);
        }
    }

    @Test
    void sharingDifferentLayersAveragesThemAndKeyValueHeadsMerge() {
        final Checkpoint none = random(config(SharingPlan.NONE), 2);
        final Checkpoint all = Share.convert(none, SharingPlan.ALL, 1);
        assertThat(all.config().numKeyValueHeads()).isEqualTo(1);
        final String q0 = ParameterLayout.attentionPrefix(none.config(), 0) + "attention.query.weight";
        final String q5 = ParameterLayout.attentionPrefix(none.config(), 5) + "attention.query.weight";
        final float[] averaged = all.floats(ParameterLayout.attentionPrefix(all.config(), 0) + "attention.query.weight");
        float expected = 0;
        for (int layer = 0; layer < 6; layer++) {
            expected += none.floats(ParameterLayout.attentionPrefix(none.config(), layer) + "attention.query.weight")[7] / 6;
        }
        assertThat(averaged[7]).isCloseTo(expected, within(1e-6f));
        assertThat(none.floats(q0)[7]).isNotEqualTo(none.floats(q5)[7]);
        assertThat(run(all)).hasSize(3);
    }

    @Test
    void pruningUnitsWhoseWeightsAreZeroChangesNoOutput() {
        final Checkpoint base = random(config(SharingPlan.both(SharingStrategy.CYCLE, 2)), 3);
        final Map<String, Tensor> zeroed = new LinkedHashMap<>(base.tensors());
        final int h = 32;
        final int d = 8;
        final int f = 64;
        for (int s = 0; s < 2; s++) {
            final String a = ParameterLayout.attentionPrefix(base.config(), s) + "attention.";
            final int head = s == 0 ? 1 : 3;
            for (final String w : new String[] {"query", "key", "value"}) {
                zero(zeroed, a + w + ".weight", base, r -> r / h >= head * d && r / h < (head + 1) * d);
                zero(zeroed, a + w + ".bias", base, r -> r >= head * d && r < (head + 1) * d);
            }
            zero(zeroed, a + "dense.weight", base, i -> i % h >= head * d && i % h < (head + 1) * d);
            final String p = ParameterLayout.ffnPrefix(base.config(), s);
            final int set = s;
            zero(zeroed, p + "ffn.weight", base, i -> i / h % 4 == set);
            zero(zeroed, p + "ffn.bias", base, j -> j % 4 == set);
            zero(zeroed, p + "ffn_output.weight", base, i -> i % f % 4 == set);
        }
        final Checkpoint withDeadUnits = new Checkpoint(base.config(), zeroed);
        final Checkpoint pruned = Prune.prune(withDeadUnits, 3, 48);
        assertThat(pruned.config().numHeads()).isEqualTo(3);
        assertThat(pruned.config().intermediateSize()).isEqualTo(48);
        assertThat(pruned.config().attentionSize()).isEqualTo(24);
        assertThat(ParameterStats.of(pruned).uniqueParameters()).isLessThan(ParameterStats.of(base).uniqueParameters());
        assertSameLogits(run(withDeadUnits), run(pruned), 1e-4f);
    }

    private static void zero(final Map<String, Tensor> t, final String name, final Checkpoint base,
            final java.util.function.IntPredicate which) {
        final float[] v = base.floats(name);
        for (int i = 0; i < v.length; i++) {
            if (which.test(i)) {
                v[i] = 0;
            }
        }
        t.put(name, Tensor.ofFloats(base.tensors().get(name).shape(), v));
    }

    @Test
    void int8RoundTripStaysWithinHalfAScaleAndShrinksTheFile() {
        final Checkpoint base = random(config(SharingPlan.ALL), 4);
        final Checkpoint q = Quantize.int8(base);
        for (final ParameterSpec s : ParameterLayout.of(base.config())) {
            final float[] original = base.floats(s.name());
            final float[] restored = q.floats(s.name());
            if (s.shape().length != 2) {
                assertThat(restored).containsExactly(original);
                continue;
            }
            final float[] scales = q.tensors().get(s.name() + "_scale").toFloats();
            final int cols = (int) s.shape()[1];
            for (int i = 0; i < original.length; i++) {
                assertThat(Math.abs(restored[i] - original[i])).as(s.name())
                        .isLessThanOrEqualTo(scales[i / cols] / 2 * 1.0001f + 1e-7f);
            }
        }
        final long f32 = ParameterStats.of(base).totalBytes();
        final long int8 = ParameterStats.of(q).totalBytes();
        assertThat((double) f32 / int8).isGreaterThan(3.0);
        final List<ModelOutput> a = run(base);
        final List<ModelOutput> b = run(q);
        for (int i = 0; i < a.size(); i++) {
            assertThat(b.get(i).probabilities()).containsExactly(a.get(i).probabilities(), within(0.05f));
        }
    }
}
