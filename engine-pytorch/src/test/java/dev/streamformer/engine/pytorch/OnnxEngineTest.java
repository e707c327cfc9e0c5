package dev.streamformer.engine.pytorch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import dev.streamformer.model.Activation;
import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.EncoderInput;
import dev.streamformer.model.EngineSettings;
import dev.streamformer.model.InferenceEngine;
import dev.streamformer.model.InferenceModel;
import dev.streamformer.model.ModelConfig;
import dev.streamformer.model.ModelDirectory;
import dev.streamformer.model.ModelOutput;
import dev.streamformer.model.ParameterLayout;
import dev.streamformer.model.ParameterSpec;
import dev.streamformer.model.PyTorchReferenceTest;
import dev.streamformer.model.SafeTensors;
import dev.streamformer.model.SharingPlan;
import dev.streamformer.model.SharingStrategy;
import dev.streamformer.model.TestModels;
import dev.streamformer.engine.onnx.internals.EncoderGraph;
import dev.streamformer.engine.onnx.internals.OnnxModelFile;

/** The ONNX Runtime engine against the PyTorch encoder on the same weights, for every sharing plan. */
class OnnxEngineTest {

    @TempDir
    Path dir;

    static Stream<Arguments> plans() {
        return PyTorchReferenceTest.plans();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("plans")
    void onnxRuntimeLogitsEqualThePyTorchEncodersOnPaddedBatches(final String label, final SharingPlan plan,
            final int kvHeads, final Activation activation) {
        final Checkpoint checkpoint = TestModels.randomized(PyTorchReferenceTest.config(plan, kvHeads, activation),
                label.hashCode());
        final List<EncoderInput> batch = TestModels.paddedBatch();
        try (InferenceModel onnx = new InferenceModel("m", "v", checkpoint, EngineSettings.of(InferenceEngine.ONNXRUNTIME, 1));
                InferenceModel torch = new InferenceModel("m", "v", checkpoint, EngineSettings.of(InferenceEngine.PYTORCH, 1))) {
            final List<ModelOutput> a = onnx.predict(batch);
            final List<ModelOutput> b = torch.predict(batch);
            float largest = 0;
            for (int i = 0; i < batch.size(); i++) {
                assertThat(a.get(i).logits()).as("sequence %d", i).containsExactly(b.get(i).logits(), within(1e-4f));
                for (final float v : b.get(i).logits()) {
                    largest = Math.max(largest, Math.abs(v));
                }
            }
            assertThat(largest).as("logits large enough for the comparison to mean something").isGreaterThan(0.1f);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("plans")
    void aSharedTensorIsOneInitializerThatEveryLayerOfItsSetUses(final String label, final SharingPlan plan,
            final int kvHeads, final Activation activation) {
        final ModelConfig config = PyTorchReferenceTest.config(plan, kvHeads, activation);
        final Checkpoint checkpoint = TestModels.randomized(config, 3);
        final OnnxModelFile graph = OnnxModelFile.of(EncoderGraph.build(checkpoint, label));
        final Map<String, OnnxModelFile.Initializer> byName = new java.util.HashMap<>();
        graph.initializers().forEach(i -> byName.put(i.name(), i));
        final int[] attention = plan.attentionMap(config.numLayers());
        for (final ParameterSpec spec : ParameterLayout.of(config)) {
            assertThat(byName).as("initializer of %s", spec.name()).containsKey(spec.name());
            assertThat(byName.get(spec.name()).elements()).isEqualTo(spec.count());
        }
        final String query = ParameterLayout.attentionPrefix(config, 0) + "attention.query.weight";
        final long layersOfSetA = java.util.Arrays.stream(attention).filter(s -> s == 0).count();
        assertThat(byName.get(query).users()).as("nodes reading %s", query).isEqualTo((int) layersOfSetA);
        final long stored = ParameterLayout.of(config).stream().mapToLong(ParameterSpec::count).sum();
        final long inGraph = graph.initializers().stream().filter(OnnxModelFile.Initializer::isWeight)
                .mapToLong(OnnxModelFile.Initializer::elements).sum();
        assertThat(inGraph).as("values in the graph's weight initializers").isEqualTo(stored);
    }

    static Stream<Arguments> relaxedPlans() {
        return Stream.of(
                Arguments.of("all, rank 3", SharingPlan.ALL, 4, 3),
                Arguments.of("attention-only, rank 2", SharingPlan.ATTENTION_ONLY, 4, 2),
                Arguments.of("ffn-only, rank 5", SharingPlan.FFN_ONLY, 4, 5),
                Arguments.of("cycle-3, rank 4", SharingPlan.both(SharingStrategy.CYCLE, 3), 4, 4),
                Arguments.of("all-kv1, rank 4", SharingPlan.ALL, 1, 4));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("relaxedPlans")
    void relaxedSharingGivesTheSameLogitsOnBothEnginesAndKeepsTheSharedMatrixOneInitializer(final String label,
            final SharingPlan plan, final int kvHeads, final int rank) {
        final ModelConfig config = PyTorchReferenceTest.config(plan, kvHeads, Activation.GELU_NEW).withRelaxRank(rank);
        final Checkpoint checkpoint = TestModels.randomized(config, label.hashCode());
        final List<EncoderInput> batch = TestModels.paddedBatch();
        try (InferenceModel onnx = new InferenceModel("m", "v", checkpoint, EngineSettings.of(InferenceEngine.ONNXRUNTIME, 1));
                InferenceModel torch = new InferenceModel("m", "v", checkpoint, EngineSettings.of(InferenceEngine.PYTORCH, 1))) {
            final List<ModelOutput> a = onnx.predict(batch);
            final List<ModelOutput> b = torch.predict(batch);
            for (int i = 0; i < batch.size(); i++) {
                assertThat(a.get(i).logits()).as("sequence %d", i).containsExactly(b.get(i).logits(), within(1e-4f));
            }
        }
        // The deltas change the result: without them (plain sharing of the same base) the logits move.
        // The same base under the plain plan's names (a relaxed model's sets use the extension names).
        final ModelConfig plainConfig = config.withRelaxRank(0);
        final List<ParameterSpec> relaxedSpecs = ParameterLayout.of(config).stream()
                .filter(p -> !p.name().startsWith(ParameterLayout.DELTAS)).toList();
        final List<ParameterSpec> plainSpecs = ParameterLayout.of(plainConfig);
        final java.util.Map<String, SafeTensors.Tensor> plain = new java.util.HashMap<>();
        for (int i = 0; i < plainSpecs.size(); i++) {
            plain.put(plainSpecs.get(i).name(), checkpoint.tensors().get(relaxedSpecs.get(i).name()));
        }
        try (InferenceModel base = new InferenceModel("m", "v", new Checkpoint(plainConfig, plain));
                InferenceModel relaxed = new InferenceModel("m", "v", checkpoint)) {
            assertThat(base.predict(batch).get(0).logits()).isNotEqualTo(relaxed.predict(batch).get(0).logits());
        }
        final OnnxModelFile graph = OnnxModelFile.of(EncoderGraph.build(checkpoint, label));
        final Map<String, OnnxModelFile.Initializer> byName = new java.util.HashMap<>();
        graph.initializers().forEach(i -> byName.put(i.name(), i));
        for (final ParameterSpec spec : ParameterLayout.of(config)) {
            assertThat(byName).as("initializer of %s", spec.name()).containsKey(spec.name());
        }
        final int[] ffn = plan.ffnMap(config.numLayers());
        final String inner = ParameterLayout.ffnPrefix(config, ffn[0]) + "ffn.weight";
        assertThat(byName.get(inner).users()).as("nodes reading %s", inner)
                .isEqualTo((int) java.util.Arrays.stream(ffn).filter(s -> s == ffn[0]).count());
        final long stored = ParameterLayout.of(config).stream().mapToLong(ParameterSpec::count).sum();
        final long inGraph = graph.initializers().stream().filter(OnnxModelFile.Initializer::isWeight)
                .mapToLong(OnnxModelFile.Initializer::elements).sum();
        assertThat(inGraph).as("values in the graph's weight initializers").isEqualTo(stored);
    }

    @Test
    void aModelDirectoryWithModelOnnxIsServedAsItIs() throws Exception {
        final Checkpoint checkpoint = TestModels.randomized(TestModels.small(SharingPlan.both(SharingStrategy.CYCLE, 2)), 9);
        final Path source = dir.resolve("source");
        checkpoint.save(source);
        final Path exported = dir.resolve("exported");
        Files.createDirectories(exported);
        Files.copy(source.resolve(ModelDirectory.CONFIG), exported.resolve(ModelDirectory.CONFIG));
        Files.write(exported.resolve(ModelDirectory.ONNX), EncoderGraph.build(checkpoint, "exported").toByteArray());
        final List<EncoderInput> batch = TestModels.paddedBatch();
        try (InferenceModel fromOnnx = InferenceModel.load(exported);
                InferenceModel fromWeights = InferenceModel.load(source, EngineSettings.of(InferenceEngine.PYTORCH, 1))) {
            assertThat(fromOnnx.stats().uniqueParameters()).isEqualTo(fromWeights.stats().uniqueParameters());
            final List<ModelOutput> a = fromOnnx.predict(batch);
            final List<ModelOutput> b = fromWeights.predict(batch);
            for (int i = 0; i < batch.size(); i++) {
                assertThat(a.get(i).logits()).containsExactly(b.get(i).logits(), within(1e-4f));
            }
        }
        assertThatThrownBy(() -> InferenceModel.load(exported, EngineSettings.of(InferenceEngine.PYTORCH, 1)))
                .hasMessageContaining("only the onnxruntime engine serves");
    }
}
