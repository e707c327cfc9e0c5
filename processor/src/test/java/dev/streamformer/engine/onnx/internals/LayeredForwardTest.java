package dev.streamformer.engine.onnx.internals;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import dev.streamformer.model.Activation;
import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.EncoderBatch;
import dev.streamformer.model.ModelConfig;
import dev.streamformer.model.PyTorchReferenceTest;
import dev.streamformer.model.SharingPlan;
import dev.streamformer.model.SharingStrategy;
import dev.streamformer.model.TestModels;

/**
 * The encoder run layer by layer (an embedding step, one session per distinct layer function, the
 * exit step) gives the single graph's logits at full depth, over the plan matrix, relaxed sharing
 * included; an all-shared plan needs one layer session for every depth.
 */
class LayeredForwardTest {

    static Stream<Arguments> plans() {
        return Stream.concat(PyTorchReferenceTest.plans().map(a -> Arguments.of(a.get()[0], a.get()[1], a.get()[2],
                a.get()[3], 0)), Stream.of(
                        Arguments.of("all, relaxed rank 3", SharingPlan.ALL, 4, Activation.GELU_NEW, 3),
                        Arguments.of("cycle-3, relaxed rank 4", SharingPlan.both(SharingStrategy.CYCLE, 3), 4,
                                Activation.GELU, 4)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("plans")
    void atFullDepthTheLayeredEncoderGivesTheSingleGraphsLogits(final String label, final SharingPlan plan,
            final int kvHeads, final Activation activation, final int relaxRank) {
        final ModelConfig config = PyTorchReferenceTest.config(plan, kvHeads, activation).withRelaxRank(relaxRank);
        final Checkpoint checkpoint = TestModels.randomized(config, label.hashCode());
        final EncoderBatch batch = EncoderBatch.of(config, TestModels.paddedBatch());
        final SessionSettings settings = SessionSettings.of(1, true);
        try (OnnxForward single = OnnxForward.fromBytes(EncoderGraph.build(checkpoint, "m").toByteArray(),
                config.numLabels(), settings);
                LayeredForward layered = LayeredForward.of(checkpoint, "m", settings)) {
            final float[] expected = single.logits(batch);
            final float[] actual = layered.logits(batch);
            assertThat(actual).containsExactly(expected, within(1e-4f));
            final long functions = java.util.stream.IntStream.range(0, config.numLayers())
                    .mapToObj(l -> EncoderGraph.layerKey(config, l)).distinct().count();
            assertThat(layered.layerSessions()).as("one session per distinct layer function").isEqualTo((int) functions);
            if (plan.equals(SharingPlan.ALL) && relaxRank == 0) {
                assertThat(layered.layerSessions()).as("all-shared: one session serves every depth").isEqualTo(1);
            }
        }
    }
}
