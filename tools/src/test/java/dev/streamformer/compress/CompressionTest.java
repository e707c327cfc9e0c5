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
import dev.streamformer.model.EngineSettings;
import dev.streamformer.model.InferenceEngine;
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

    private static List<ModelOutput> run(final Checkpoint c, final InferenceEngine engine) {
        try (InferenceModel m = new InferenceModel("m", "v", c, EngineSettings.of(engine, 1))) {
            return m.predict(BATCH);
        }
    }

    @Test
    void relaxedSharingAtFullRankReproducesTheSourceLogitsOnBothEngines() {
        final Checkpoint none = random(config(SharingPlan.NONE), 11);
        for (final InferenceEngine engine : InferenceEngine.values()) {
            final List<ModelOutput> source = run(none, engine);
            // Full rank: H=32 and F=64, so rank 32 is min(rows, columns) of every matrix.
            final Checkpoint relaxed = Share.convert(none, SharingPlan.ALL, 4, 32);
            assertThat(relaxed.config().relaxRank()).isEqualTo(32);
            assertSameLogits(source, run(relaxed, engine), 1e-4f);
            final Checkpoint cycle = Share.convert(none, SharingPlan.both(SharingStrategy.CYCLE, 2), 4, 1000);
            assertSameLogits(source, run(cycle, engine), 1e-4f);
            // Plain sharing of the same layers moves the logits: the deltas are what carry them back.
            final List<ModelOutput> plain = run(Share.convert(none, SharingPlan.ALL, 4), engine);
            float moved = 0;
            for (int i = 0; i < plain.size(); i++) {
                for (int c = 0; c < 2; c++) {
                    moved = Math.max(moved, Math.abs(plain.get(i).logits()[c] - source.get(i).logits()[c]));
                }
            }
            assertThat(moved).as("largest logit change of plain sharing on %s", engine).isGreaterThan(0.01f);
        }
    }

    @Test
    void aRelaxedModelRelaxedAgainAtFullRankKeepsItsLogits() {
        final Checkpoint relaxed = Share.convert(random(config(SharingPlan.NONE), 12), SharingPlan.ALL, 4, 4);
        final Checkpoint grouped = Share.convert(relaxed, SharingPlan.both(SharingStrategy.SEQUENCE, 2), 4, 32);
        assertSameLogits(run(relaxed), run(grouped), 1e-4f);
    }

    @Test
    void rankRStoresRTimesRowsPlusColumnsPerMatrixAndLayer() {
        final Checkpoint none = random(config(SharingPlan.NONE), 13);
        final Checkpoint all = Share.convert(none, SharingPlan.ALL, 4);
        for (final int rank : new int[] {1, 4, 16}) {
            final Checkpoint relaxed = Share.convert(none, SharingPlan.ALL, 4, rank);
            // Per layer: query, key, value, dense are 32 x 32; ffn 64 x 32 and ffn_output 32 x 64.
            final long perLayer = rank * (4L * (32 + 32) + 2L * (64 + 32));
            // And the full-size differences of the vectors: 4 attention biases of 32, ffn bias 64,
            // ffn_output bias 32, two LayerNorms of gain and bias 32.
            final long vectors = 4 * 32 + 64 + 32 + 4 * 32;
            final ParameterStats stats = ParameterStats.of(relaxed);
            long factors = 0;
            for (final ParameterSpec spec : ParameterLayout.of(relaxed.config())) {
                if (spec.name().endsWith(ParameterLayout.DELTA_A) || spec.name().endsWith(ParameterLayout.DELTA_B)) {
                    factors += spec.count();
                }
            }
            assertThat(factors).isEqualTo(6 * perLayer);
            assertThat(stats.deltaParameters()).isEqualTo(6 * (perLayer + vectors));
            assertThat(stats.uniqueParameters() - stats.deltaParameters())
                    .as("the shared base is the plainly shared model").isEqualTo(ParameterStats.of(all).uniqueParameters());
            final String a = ParameterLayout.deltaPrefix(5) + "ffn" + ParameterLayout.DELTA_A;
            final String b = ParameterLayout.deltaPrefix(5) + "ffn" + ParameterLayout.DELTA_B;
            assertThat(relaxed.tensors().get(a).shape()).containsExactly(rank, 32);
            assertThat(relaxed.tensors().get(b).shape()).containsExactly(64, rank);
            assertThat(stats.components()).filteredOn(c -> c.name().equals(ParameterLayout.deltaComponent(2)))
                    .singleElement().satisfies(c -> assertThat(c.layers()).containsExactly(2));
        }
    }

    @Test
    void higherRankDeltasComeCloserToEveryLayersSourceWeights() {
        final Checkpoint none = random(config(SharingPlan.NONE), 14);
        double previous = Double.MAX_VALUE;
        for (final int rank : new int[] {0, 1, 4, 16, 32}) {
            final Checkpoint relaxed = Share.convert(none, SharingPlan.ALL, 4, rank);
            double error = 0;
            for (int layer = 0; layer < 6; layer++) {
                for (final String matrix : List.of("attention.query", "attention.dense", "ffn", "ffn_output")) {
                    final String suffix = matrix + ".weight";
                    final boolean attention = matrix.startsWith("attention.");
                    final float[] own = Share.layerTensor(none, layer, suffix, attention);
                    final float[] served = Share.layerTensor(relaxed, layer, suffix, attention);
                    for (int i = 0; i < own.length; i++) {
                        error += (own[i] - served[i]) * (own[i] - served[i]);
                    }
                }
            }
            assertThat(error).as("squared weight error at rank %d", rank).isLessThan(previous);
            previous = error;
        }
        assertThat(previous).as("at full rank").isLessThan(1e-6);
    }

    @Test
    void pruningARelaxedModelIsRefusedWithTheOrderThatWorks() {
        final Checkpoint relaxed = Share.convert(random(config(SharingPlan.NONE), 15), SharingPlan.ALL, 4, 2);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Prune.prune(relaxed, 2, 32))
                .hasMessageContaining("prune the model first, then relax it");
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
