package dev.streamformer.engine.onnx.internals;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import dev.streamformer.model.Activation;
import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.EncoderBatch;
import dev.streamformer.model.EncoderInput;
import dev.streamformer.model.ExitHeads;
import dev.streamformer.model.ExitPolicy;
import dev.streamformer.model.ForwardPass;
import dev.streamformer.model.ModelConfig;
import dev.streamformer.model.PyTorchReferenceTest;
import dev.streamformer.model.SharingPlan;
import dev.streamformer.model.SharingStrategy;
import dev.streamformer.model.TestModels;

/**
 * Depth-wise refill: rows that start at layer 1 in the same product as rows at deeper layers (an
 * all-shared plan), or grouped with the rows whose depth uses the same weights (other plans), answer
 * what each record answers run alone, with the same exit layer.
 */
class LayeredRefillTest {

    private static final int WIDTH = 4;

    @ParameterizedTest(name = "{0} exit heads")
    @EnumSource(value = ExitHeads.class, names = {"SHARED", "PER_LAYER"})
    void rowsRefilledAtLayerOneBesideDeeperRowsAnswerWhatEachRecordAnswersAlone(final ExitHeads exits) {
        final ModelConfig config = PyTorchReferenceTest.config(SharingPlan.ALL, 4, Activation.GELU_NEW).withExits(exits);
        final Checkpoint checkpoint = TestModels.randomized(config, 23);
        final int c = config.numLabels();
        try (LayeredForward layered = LayeredForward.of(checkpoint, "m", SessionSettings.of(1, true))) {
            final EncoderBatch unordered = EncoderBatch.of(config, texts(config, 24));
            final float[][] depths = layered.logitsAtEveryDepth(unordered);
            final ExitPolicy confidence = new ExitPolicy(ExitPolicy.Kind.CONFIDENCE, pastLayerTwo(depths, c), 0);
            // Random per-layer heads disagree from depth to depth, so patience would run every record to
            // the end together; with shared heads it spreads them, and its count must follow a record
            // from slot to slot.
            for (final ExitPolicy policy : exits == ExitHeads.SHARED ? List.of(confidence, ExitPolicy.parse("patience:2"))
                    : List.of(confidence)) {
                // The deepest record first: it is still running when the first records beside it leave,
                // so the records that take their rows run layer 1 in its products at layer 2 and deeper.
                final int[] exitLayer = IntStream.range(0, unordered.size()).map(r -> policy.exitLayer(depths, r, c)).toArray();
                final int deepest = IntStream.range(0, unordered.size()).boxed()
                        .max(Comparator.comparingInt((Integer r) -> exitLayer[r])).orElseThrow();
                final List<Integer> pool = new ArrayList<>(List.of(deepest));
                IntStream.range(0, unordered.size()).boxed().filter(r -> r != deepest)
                        .sorted(Comparator.comparingInt((Integer r) -> exitLayer[r])).forEach(pool::add);
                assertThat(exitLayer[deepest]).as("%s: the first record runs past layer 2", policy).isGreaterThanOrEqualTo(2);
                assertThat(pool.subList(1, WIDTH).stream().mapToInt(r -> exitLayer[r]).min().orElseThrow())
                        .as("%s: a record beside it leaves before it, so a newcomer joins at layer 1", policy)
                        .isLessThan(exitLayer[deepest]);

                final EncoderBatch batch = EncoderBatch.of(config, pool.stream().map(r -> texts(config, 24).get(r)).toList());
                final float[][] told = new float[batch.size()][];
                final int[] toldLayers = new int[batch.size()];
                final ForwardPass.Exited refilled = layered.logitsWithRefill(batch, WIDTH, policy, (row, logits, ran) -> {
                    assertThat(told[row]).as("%s: record %d told of once", policy, row).isNull();
                    told[row] = logits;
                    toldLayers[row] = ran;
                });
                for (int i = 0; i < batch.size(); i++) {
                    assertThat(told[i]).as("%s: record %d told of as it left", policy, i)
                            .containsExactly(Arrays.copyOfRange(refilled.logits(), i * c, i * c + c));
                    assertThat(toldLayers[i]).isEqualTo(refilled.layers()[i]);
                    final ForwardPass.Exited alone = layered.logitsWithExits(batch.rows(i, i + 1), policy);
                    assertThat(refilled.layers()[i]).as("%s: layers run by record %d", policy, i).isEqualTo(alone.layers()[0])
                            .isEqualTo(exitLayer[pool.get(i)] + 1);
                    assertThat(Arrays.copyOfRange(refilled.logits(), i * c, i * c + c)).as("%s: record %d", policy, i)
                            .containsExactly(alone.logits(), within(1e-4f));
                }
            }
        }
    }

    static Stream<SharingPlan> severalLayerFunctions() {
        return Stream.of(SharingPlan.NONE, SharingPlan.ATTENTION_ONLY, SharingPlan.both(SharingStrategy.CYCLE, 3));
    }

    @ParameterizedTest
    @MethodSource("severalLayerFunctions")
    void plansWithSeveralLayerFunctionsRefillRowsGroupedByWeightSetWithTheSameAnswers(final SharingPlan plan) {
        final ModelConfig config = PyTorchReferenceTest.config(plan, 4, Activation.GELU_NEW)
                .withExits(ExitHeads.PER_LAYER);
        final Checkpoint checkpoint = TestModels.randomized(config, 29);
        final int c = config.numLabels();
        try (LayeredForward layered = LayeredForward.of(checkpoint, "m", SessionSettings.of(1, true))) {
            final EncoderBatch batch = EncoderBatch.of(config, texts(config, 10));
            final ExitPolicy policy = new ExitPolicy(ExitPolicy.Kind.CONFIDENCE,
                    medianFirstExit(layered.logitsAtEveryDepth(batch)[0], c), 0);
            final ForwardPass.Exited refilled = layered.logitsWithRefill(batch, WIDTH, policy);
            for (int i = 0; i < batch.size(); i++) {
                final ForwardPass.Exited alone = layered.logitsWithExits(batch.rows(i, i + 1), policy);
                assertThat(refilled.layers()[i]).isEqualTo(alone.layers()[0]);
                assertThat(Arrays.copyOfRange(refilled.logits(), i * c, i * c + c)).containsExactly(alone.logits(),
                        within(1e-4f));
            }
        }
    }

    /** Texts of different lengths, the same for the same count. */
    private static List<EncoderInput> texts(final ModelConfig config, final int count) {
        final Random random = new Random(5);
        final List<EncoderInput> texts = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            final int[] ids = new int[3 + random.nextInt(10)];
            ids[0] = 2;
            for (int j = 1; j < ids.length - 1; j++) {
                ids[j] = 5 + random.nextInt(config.vocabSize() - 5);
            }
            ids[ids.length - 1] = 3;
            texts.add(EncoderInput.of(ids));
        }
        return texts;
    }

    /**
     * A confidence threshold that one record at least does not reach at its first two exits (so it runs
     * past layer 2), and as low as that allows (so others leave after layer 1).
     */
    private static double pastLayerTwo(final float[][] depths, final int c) {
        final double[] firstTwo = new double[depths[0].length / c];
        for (int r = 0; r < firstTwo.length; r++) {
            firstTwo[r] = Math.max(confidence(depths[0], r, c), confidence(depths[1], r, c));
        }
        Arrays.sort(firstTwo);
        return (firstTwo[0] + firstTwo[1]) / 2;
    }

    private static double confidence(final float[] logits, final int r, final int c) {
        return 1 / (1 + Math.exp(-Math.abs(logits[r * c] - logits[r * c + 1])));
    }

    /** A confidence threshold between the records' first-exit confidences: half leave after layer 1. */
    private static double medianFirstExit(final float[] logits, final int c) {
        final double[] first = new double[logits.length / c];
        for (int r = 0; r < first.length; r++) {
            first[r] = confidence(logits, r, c);
        }
        Arrays.sort(first);
        return (first[first.length / 2 - 1] + first[first.length / 2]) / 2;
    }
}
