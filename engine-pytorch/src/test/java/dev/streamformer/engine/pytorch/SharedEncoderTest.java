package dev.streamformer.engine.pytorch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;

import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.EncoderInput;
import dev.streamformer.model.EngineSettings;
import dev.streamformer.model.InferenceEngine;
import dev.streamformer.model.InferenceModel;
import dev.streamformer.model.InvalidInputException;
import dev.streamformer.model.ModelConfig;
import dev.streamformer.model.ModelDirectory;
import dev.streamformer.model.ModelOutput;
import dev.streamformer.model.ParameterLayout;
import dev.streamformer.model.ParameterSpec;
import dev.streamformer.model.SharingPlan;
import dev.streamformer.model.SharingStrategy;
import dev.streamformer.model.TestModels;
import dev.streamformer.model.ParameterStats;
import dev.streamformer.model.SafeTensors.Tensor;

class SharedEncoderTest {

    @TempDir
    Path dir;

    @Test
    void unsharedModelWithIdenticalLayersEqualsTheAllSharedModel() {
        final Checkpoint shared = TestModels.randomized(TestModels.small(SharingPlan.ALL), 1);
        final Checkpoint unshared = untie(shared, SharingPlan.NONE);
        try (InferenceModel a = new InferenceModel("a", "v", shared);
                InferenceModel b = new InferenceModel("b", "v", unshared)) {
            assertSameLogits(a.predict(TestModels.paddedBatch()), b.predict(TestModels.paddedBatch()), 1e-5);
        }
    }

    @Test
    void saveThenLoadGivesIdenticalOutputsAndStoresASharedTensorOnce() throws Exception {
        final Checkpoint cycle = TestModels.randomized(
                TestModels.small(SharingPlan.both(SharingStrategy.CYCLE, 3)), 2);
        cycle.save(dir);
        final Checkpoint loaded = Checkpoint.load(dir);
        final List<String> queryTensors = loaded.tensors().keySet().stream()
                .filter(n -> n.endsWith("attention.query.weight")).sorted().toList();
        assertThat(queryTensors).containsExactly(
                "albert.encoder.attention_sets.0.attention.query.weight",
                "albert.encoder.attention_sets.1.attention.query.weight",
                "albert.encoder.attention_sets.2.attention.query.weight");

        final ParameterStats stats = ParameterStats.of(loaded);
        final long stored = loaded.tensors().values().stream().mapToLong(Tensor::elements).sum();
        assertThat(stats.uniqueParameters()).isEqualTo(stored);
        assertThat(Files.size(dir.resolve(ModelDirectory.WEIGHTS))).isBetween(stored * 4, stored * 4 + 16_384);
        final long logicalNone = ParameterStats.of(loaded.config().withPlan(SharingPlan.NONE)).uniqueParameters();
        assertThat(stats.logicalParameters()).isEqualTo(logicalNone);
        assertThat(stats.sharingRatio()).isGreaterThan(1.5);

        try (InferenceModel before = new InferenceModel("m", "v", cycle);
                InferenceModel after = InferenceModel.load(dir)) {
            final List<ModelOutput> x = before.predict(TestModels.paddedBatch());
            final List<ModelOutput> y = after.predict(TestModels.paddedBatch());
            for (int i = 0; i < x.size(); i++) {
                assertThat(y.get(i).logits()).containsExactly(x.get(i).logits());
            }
        }
    }

    @Test
    void allSharedModelIsStoredUnderAlbertNamesOnce() throws Exception {
        final Checkpoint all = Checkpoint.random(TestModels.small(SharingPlan.ALL), 3);
        all.save(dir);
        final Checkpoint loaded = Checkpoint.load(dir);
        assertThat(loaded.tensors()).containsKey(
                "albert.encoder.albert_layer_groups.0.albert_layers.0.attention.query.weight");
        assertThat(loaded.tensors().keySet()).noneMatch(n -> n.contains("albert_layer_groups.1"));
        final Checkpoint none = Checkpoint.random(TestModels.small(SharingPlan.NONE), 3);
        assertThat(ParameterStats.of(none).uniqueParameters() - ParameterStats.of(all).uniqueParameters())
                .isEqualTo(5 * ParameterStats.of(all).components().stream()
                        .filter(c -> c.name().startsWith("attention") || c.name().startsWith("ffn"))
                        .mapToLong(ParameterStats.Component::parameters).sum());
    }

    @Test
    void paddingDoesNotChangeASequencesOutput() {
        try (InferenceModel model = new InferenceModel("m", "v",
                TestModels.randomized(TestModels.small(SharingPlan.ATTENTION_ONLY), 4))) {
            final List<EncoderInput> batch = TestModels.paddedBatch();
            final List<ModelOutput> together = model.predict(batch);
            for (int i = 0; i < batch.size(); i++) {
                final ModelOutput alone = model.predict(List.of(batch.get(i))).get(0);
                assertThat(together.get(i).logits()).containsExactly(alone.logits(), within(1e-4f));
            }
        }
    }

    @Test
    void groupedKeyValueHeadsRunAndStoreSmallerProjections() {
        final ModelConfig config = TestModels.small(SharingPlan.ALL).withKeyValueHeads(1);
        final Checkpoint checkpoint = TestModels.randomized(config, 5);
        assertThat(checkpoint.tensors().get("albert.encoder.attention_sets.0.attention.key.weight").shape())
                .containsExactly(8, 32);
        try (InferenceModel model = new InferenceModel("m", "v", checkpoint)) {
            final List<ModelOutput> out = model.predict(TestModels.paddedBatch());
            assertThat(out).hasSize(4);
            assertThat(out.get(0).probabilities()[0] + out.get(0).probabilities()[1]).isCloseTo(1f, within(1e-5f));
        }
    }

    @ParameterizedTest
    @EnumSource(InferenceEngine.class)
    void rejectsBadInputWithClearMessagesAndLeavesTheWeightsUntouched(final InferenceEngine engine) {
        try (InferenceModel model = new InferenceModel("m", "v",
                TestModels.randomized(TestModels.small(SharingPlan.ALL), 6), EngineSettings.of(engine, 1))) {
            final float[] before = model.predict(TestModels.paddedBatch()).get(0).logits();
            assertThatThrownBy(() -> model.predict(List.of(EncoderInput.of(2, 120, 3))))
                    .isInstanceOf(InvalidInputException.class).hasMessageContaining("token id 120 at position 1")
                    .hasMessageContaining("[0, 120)");
            assertThatThrownBy(() -> model.predict(List.of(EncoderInput.of(2, -1))))
                    .isInstanceOf(InvalidInputException.class).hasMessageContaining("token id -1");
            assertThatThrownBy(() -> model.predict(List.of(EncoderInput.of(2, 3), EncoderInput.of())))
                    .isInstanceOf(InvalidInputException.class).hasMessageContaining("sequence 1: the token list is empty");
            assertThatThrownBy(() -> model.predict(List.of(EncoderInput.of(new int[41]))))
                    .isInstanceOf(InvalidInputException.class).hasMessageContaining("max_position_embeddings=40");
            assertThatThrownBy(() -> model.predict(List.of(new EncoderInput(new int[] {2, 3}, new int[] {1}, null))))
                    .isInstanceOf(InvalidInputException.class).hasMessageContaining("attention mask has 1 entries");
            assertThatThrownBy(() -> model.predict(List.of(new EncoderInput(new int[] {2, 3}, null, new int[] {0, 2}))))
                    .isInstanceOf(InvalidInputException.class).hasMessageContaining("segment id 2");
            assertThatThrownBy(() -> model.predict(List.of()))
                    .isInstanceOf(InvalidInputException.class).hasMessageContaining("empty");
            assertThat(model.predict(TestModels.paddedBatch()).get(0).logits()).containsExactly(before);
            if (engine == InferenceEngine.PYTORCH) {
                for (final NDArray w : PyTorchForward.encoder(model).parameters().values()) {
                    assertThat(w.hasGradient()).as(w.getName()).isFalse();
                }
            }
        }
    }

    @Test
    void gradientOfASharedTensorSumsOverEveryLayerThatUsesIt() {
        final Checkpoint shared = TestModels.randomized(TestModels.small(SharingPlan.ALL), 7);
        final Checkpoint unshared = untie(shared, SharingPlan.NONE);
        final String sharedName = "albert.encoder.albert_layer_groups.0.albert_layers.0.ffn.weight";
        try (SharedEncoder a = SharedEncoder.forTraining(shared);
                SharedEncoder b = SharedEncoder.forTraining(unshared);
                NDManager manager = Engine.getEngine(SharedEncoder.ENGINE).newBaseManager()) {
            final float[] sharedGrad = gradient(a, manager, sharedName);
            final float[] summed = new float[sharedGrad.length];
            for (int layer = 0; layer < 6; layer++) {
                final float[] g = gradient(b, manager,
                        "albert.encoder.albert_layer_groups." + layer + ".albert_layers.0.ffn.weight");
                for (int i = 0; i < g.length; i++) {
                    summed[i] += g[i];
                }
            }
            assertThat(maxAbs(sharedGrad)).isGreaterThan(1e-4f);
            for (int i = 0; i < summed.length; i++) {
                assertThat(sharedGrad[i]).isCloseTo(summed[i], within(1e-4f + 1e-3f * Math.abs(summed[i])));
            }
        }
    }

    @Test
    void dropoutChangesEveryTrainingPassRepeatsWithTheEngineSeedAndNeverReachesServing() {
        final Checkpoint model = TestModels.randomized(TestModels.small(SharingPlan.ALL), 3);
        final Engine engine = Engine.getEngine(SharedEncoder.ENGINE);
        try (InferenceModel serving = new InferenceModel("m", "v", model, EngineSettings.of(InferenceEngine.PYTORCH, 1));
                SharedEncoder plain = SharedEncoder.forTraining(model);
                SharedEncoder dropping = SharedEncoder.forTraining(model, 0.3f);
                NDManager manager = engine.newBaseManager()) {
            final float[] served = serving.predict(TestModels.paddedBatch()).get(0).logits();
            final float[] noDropout = plain.forward(manager, TestModels.paddedBatch(), false).logits().get(0)
                    .toFloatArray();
            for (int c = 0; c < served.length; c++) {
                assertThat(noDropout[c]).isCloseTo(served[c], within(1e-5f));
            }
            engine.setRandomSeed(11);
            final float[] first = dropping.forward(manager, TestModels.paddedBatch(), false).logits().toFloatArray();
            final float[] second = dropping.forward(manager, TestModels.paddedBatch(), false).logits().toFloatArray();
            engine.setRandomSeed(11);
            final float[] again = dropping.forward(manager, TestModels.paddedBatch(), false).logits().toFloatArray();
            assertThat(second).isNotEqualTo(first);
            assertThat(again).containsExactly(first);
            assertThat(maxAbs(gradientOfAll(dropping, manager))).isGreaterThan(1e-4f);
        }
        assertThatThrownBy(() -> SharedEncoder.forTraining(model, 1f))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("dropout");
    }

    private static float[] gradientOfAll(final SharedEncoder encoder, final NDManager manager) {
        return gradient(encoder, manager, "albert.encoder.albert_layer_groups.0.albert_layers.0.ffn.weight");
    }

    private static float[] gradient(final SharedEncoder encoder, final NDManager manager, final String name) {
        try (NDManager call = manager.newSubManager();
                GradientCollector collector = Engine.getEngine(SharedEncoder.ENGINE).newGradientCollector()) {
            for (final NDArray p : encoder.parameters().values()) {
                p.getGradient().subi(p.getGradient());
            }
            final NDArray loss = encoder.forward(call, TestModels.paddedBatch(), false).logits().get(":, 1").sum();
            collector.backward(loss);
            return encoder.parameters().get(name).getGradient().toFloatArray();
        }
    }

    private static float maxAbs(final float[] values) {
        float m = 0;
        for (final float v : values) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }

    /** The same weights laid out under another plan: every layer's set copies the single shared set. */
    static Checkpoint untie(final Checkpoint allShared, final SharingPlan plan) {
        final ModelConfig target = allShared.config().withPlan(plan);
        final Map<String, Tensor> source = allShared.tensors();
        final Map<String, Tensor> out = new LinkedHashMap<>();
        for (final ParameterSpec spec : ParameterLayout.of(target)) {
            String from = spec.name();
            if (spec.component().startsWith("attention")) {
                final int set = spec.component().charAt(10) - 'A';
                from = ParameterLayout.attentionPrefix(allShared.config(), 0)
                        + spec.name().substring(ParameterLayout.attentionPrefix(target, set).length());
            } else if (spec.component().startsWith("ffn")) {
                final int set = spec.component().charAt(4) - 'A';
                from = ParameterLayout.ffnPrefix(allShared.config(), 0)
                        + spec.name().substring(ParameterLayout.ffnPrefix(target, set).length());
            }
            out.put(spec.name(), source.get(from));
        }
        assertThat(out.values()).doesNotContainNull();
        return new Checkpoint(target, out);
    }

    private static void assertSameLogits(final List<ModelOutput> x, final List<ModelOutput> y, final double tol) {
        assertThat(x).hasSameSizeAs(y);
        for (int i = 0; i < x.size(); i++) {
            assertThat(x.get(i).logits()).containsExactly(y.get(i).logits(), within((float) tol));
        }
    }
}
