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

    @org.junit.jupiter.api.Test
    void recordsThatLeaveEarlyAnswerWhatTheirExitAnswersAndTheRestRunOnInASmallerBatch() {
        final ModelConfig config = PyTorchReferenceTest.config(SharingPlan.ALL, 4, Activation.GELU_NEW)
                .withExits(dev.streamformer.model.ExitHeads.PER_LAYER);
        final Checkpoint checkpoint = TestModels.randomized(config, 11);
        final List<dev.streamformer.model.EncoderInput> inputs = new java.util.ArrayList<>(TestModels.paddedBatch());
        inputs.addAll(TestModels.paddedBatch());
        final EncoderBatch batch = EncoderBatch.of(config, inputs.stream().map(in -> dev.streamformer.model.EncoderInput
                .of(java.util.Arrays.stream(in.tokenIds()).map(t -> (t * 7 + inputs.indexOf(in)) % config.vocabSize())
                        .toArray())).toList());
        final int c = config.numLabels();
        try (LayeredForward layered = LayeredForward.of(checkpoint, "m", SessionSettings.of(1, true))) {
            final float[][] depths = layered.logitsAtEveryDepth(batch);
            // A threshold between the records' first-exit confidences, so some leave after layer 1 and some run on.
            final double[] first = new double[batch.size()];
            for (int r = 0; r < batch.size(); r++) {
                final float a = depths[0][r * c];
                final float b = depths[0][r * c + 1];
                first[r] = 1 / (1 + Math.exp(-Math.abs(a - b)));
            }
            final double[] sorted = first.clone();
            java.util.Arrays.sort(sorted);
            final double median = (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
            for (final dev.streamformer.model.ExitPolicy policy : List.of(
                    new dev.streamformer.model.ExitPolicy(dev.streamformer.model.ExitPolicy.Kind.CONFIDENCE, median, 0),
                    dev.streamformer.model.ExitPolicy.parse("patience:2"), dev.streamformer.model.ExitPolicy.NONE)) {
                final LayeredForward.Exited exited = layered.logitsWithExits(batch, policy);
                final java.util.Set<Integer> layersRun = new java.util.TreeSet<>();
                for (int r = 0; r < batch.size(); r++) {
                    final int layer = policy.exitLayer(depths, r, c);
                    assertThat(exited.layers()[r]).as("%s: layers run by record %d", policy, r).isEqualTo(layer + 1);
                    assertThat(java.util.Arrays.copyOfRange(exited.logits(), r * c, r * c + c)).as("%s: record %d", policy, r)
                            .containsExactly(java.util.Arrays.copyOfRange(depths[layer], r * c, r * c + c), within(1e-4f));
                    layersRun.add(exited.layers()[r]);
                }
                if (policy.kind() == dev.streamformer.model.ExitPolicy.Kind.CONFIDENCE) {
                    assertThat(layersRun).as("some records left after layer 1, some ran on").contains(1).hasSizeGreaterThan(1);
                }
                if (policy.kind() == dev.streamformer.model.ExitPolicy.Kind.NONE) {
                    assertThat(layersRun).containsExactly(config.numLayers());
                }
            }
        }
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
