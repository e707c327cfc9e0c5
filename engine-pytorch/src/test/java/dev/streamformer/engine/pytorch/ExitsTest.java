package dev.streamformer.engine.pytorch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import dev.streamformer.engine.onnx.internals.EncoderGraph;
import dev.streamformer.engine.onnx.internals.LayeredForward;
import dev.streamformer.engine.onnx.internals.OnnxForward;
import dev.streamformer.engine.onnx.internals.SessionSettings;
import dev.streamformer.model.Activation;
import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.EncoderBatch;
import dev.streamformer.model.ExitHeads;
import dev.streamformer.model.ModelConfig;
import dev.streamformer.model.PyTorchReferenceTest;
import dev.streamformer.model.SharingPlan;
import dev.streamformer.model.SharingStrategy;
import dev.streamformer.model.TestModels;

/**
 * The exit after layer k, read by ONNX Runtime's layer-by-layer encoder, equals the PyTorch encoder
 * cut after layer k, for shared and per-layer exit heads over sharing plans (relaxed included); the
 * last exit is the full-depth model's answer.
 */
class ExitsTest {

    static Stream<Arguments> cases() {
        return Stream.of(ExitHeads.SHARED, ExitHeads.PER_LAYER).flatMap(exits -> Stream.of(
                Arguments.of("all, " + exits, SharingPlan.ALL, 0, exits),
                Arguments.of("none, " + exits, SharingPlan.NONE, 0, exits),
                Arguments.of("cycle-3, " + exits, SharingPlan.both(SharingStrategy.CYCLE, 3), 0, exits),
                Arguments.of("all relaxed rank 3, " + exits, SharingPlan.ALL, 3, exits)));
    }

    @org.junit.jupiter.api.Test
    void bothEnginesLetTheSameRecordsLeaveAfterTheSameLayersWithTheSameAnswers() {
        final ModelConfig config = PyTorchReferenceTest.config(SharingPlan.ALL, 4, Activation.GELU_NEW)
                .withExits(ExitHeads.PER_LAYER);
        final Checkpoint checkpoint = TestModels.randomized(config, 21);
        final List<dev.streamformer.model.EncoderInput> inputs = TestModels.paddedBatch();
        try (dev.streamformer.model.InferenceModel onnx = new dev.streamformer.model.InferenceModel("m", "v", checkpoint,
                dev.streamformer.model.EngineSettings.of(dev.streamformer.model.InferenceEngine.ONNXRUNTIME, 1));
                dev.streamformer.model.InferenceModel torch = new dev.streamformer.model.InferenceModel("m", "v",
                        checkpoint, dev.streamformer.model.EngineSettings.of(
                                dev.streamformer.model.InferenceEngine.PYTORCH, 1))) {
            for (final String p : List.of("confidence:0.5", "confidence:0.9", "patience:2", "none")) {
                final dev.streamformer.model.ExitPolicy policy = dev.streamformer.model.ExitPolicy.parse(p);
                final List<dev.streamformer.model.InferenceModel.Exit> a = onnx.predict(inputs, policy);
                final List<dev.streamformer.model.InferenceModel.Exit> b = torch.predict(inputs, policy);
                for (int i = 0; i < inputs.size(); i++) {
                    assertThat(a.get(i).layers()).as("%s, record %d", p, i).isEqualTo(b.get(i).layers());
                    assertThat(a.get(i).output().logits()).as("%s, record %d", p, i)
                            .containsExactly(b.get(i).output().logits(), within(1e-4f));
                }
                if (p.equals("confidence:0.5")) {
                    assertThat(a).as("two labels: every record is at least half sure after layer 1")
                            .allSatisfy(e -> assertThat(e.layers()).isEqualTo(1));
                }
                if (p.equals("none")) {
                    assertThat(a).allSatisfy(e -> assertThat(e.layers()).isEqualTo(config.numLayers()));
                }
            }
        }
        try (dev.streamformer.model.InferenceModel plain = new dev.streamformer.model.InferenceModel("m", "v",
                TestModels.randomized(config.withExits(ExitHeads.NONE), 21))) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> plain.predict(inputs,
                    dev.streamformer.model.ExitPolicy.parse("patience:2")))
                    .hasMessageContaining("has no exit heads").hasMessageContaining("--exits");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void theExitAfterEachLayerIsThePyTorchEncoderCutThere(final String label, final SharingPlan plan, final int rank,
            final ExitHeads exits) {
        final ModelConfig config = PyTorchReferenceTest.config(plan, 4, Activation.GELU_NEW).withRelaxRank(rank)
                .withExits(exits);
        final Checkpoint checkpoint = TestModels.randomized(config, label.hashCode());
        final EncoderBatch batch = EncoderBatch.of(config, TestModels.paddedBatch());
        final SessionSettings settings = SessionSettings.of(1, true);
        try (LayeredForward layered = LayeredForward.of(checkpoint, "m", settings);
                OnnxForward single = OnnxForward.fromBytes(EncoderGraph.build(checkpoint, "m").toByteArray(),
                        config.numLabels(), settings);
                SharedEncoder torch = SharedEncoder.forInference(checkpoint);
                NDManager manager = Engine.getEngine(SharedEncoder.ENGINE).newBaseManager()) {
            final float[][] onnx = layered.logitsAtEveryDepth(batch);
            final List<NDArray> reference = torch.logitsAtEveryDepth(manager, batch, true);
            assertThat(onnx).hasNumberOfRows(config.numLayers());
            for (int layer = 0; layer < config.numLayers(); layer++) {
                assertThat(onnx[layer]).as("exit after layer %d", layer + 1)
                        .containsExactly(reference.get(layer).toFloatArray(), within(1e-4f));
            }
            assertThat(onnx[config.numLayers() - 1]).as("the last exit is the full-depth answer")
                    .containsExactly(single.logits(batch), within(1e-4f));
            assertThat(onnx[0]).as("an early exit answers something else than the last")
                    .isNotEqualTo(onnx[config.numLayers() - 1]);
        }
    }
}
