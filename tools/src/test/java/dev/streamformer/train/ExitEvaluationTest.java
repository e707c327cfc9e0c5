package dev.streamformer.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

import dev.streamformer.model.ExitPolicy;
import dev.streamformer.model.ModelOutput;

/** Scoring exit policies on every exit's answers, and choosing one for a stated accuracy loss. */
class ExitEvaluationTest {

    /** Three layers, four records: per record, per layer, (ham, spam) logits. */
    private static final float[][][] DEPTHS = {
        {{0f, 3f}, {0f, 4f}, {0f, 5f}},      // spam, sure at once
        {{2.5f, 0f}, {3f, 0f}, {4f, 0f}},    // ham, sure at once (0.92)
        {{0f, 0.2f}, {0f, 3f}, {0f, 4f}},    // spam, unsure at layer 1
        {{0f, 0.4f}, {3f, 0f}, {3f, 0f}},    // ham: layer 1 says spam (0.599), wrongly
    };
    private static final int[] LABELS = {1, 0, 1, 0};

    @Test
    void aPolicyIsScoredOnTheExitsItTakesWithTheLayersRunAndTheirHistogram() {
        final ExitEvaluation full = ExitEvaluation.of(DEPTHS, LABELS, ExitPolicy.NONE);
        assertThat(full.metrics().accuracy()).isEqualTo(1.0);
        assertThat(full.meanLayers()).isEqualTo(3.0);
        assertThat(full.exitHistogram()).containsExactly(0, 0, 4);
        final ExitEvaluation eager = ExitEvaluation.of(DEPTHS, LABELS, ExitPolicy.parse("confidence:0.5"));
        assertThat(eager.meanLayers()).isEqualTo(1.0);
        assertThat(eager.metrics().accuracy()).as("record 3 leaves with layer 1's wrong answer").isEqualTo(0.75);
        final ExitEvaluation sure = ExitEvaluation.of(DEPTHS, LABELS, ExitPolicy.parse("confidence:0.9"));
        assertThat(sure.exitHistogram()).containsExactly(2, 2, 0);
        assertThat(sure.metrics().accuracy()).isEqualTo(1.0);
        assertThat(sure.toLine()).contains("confidence:0.9").contains("mean layers 1.50");
    }

    @Test
    void theFullDepthAnswerIsTheLastExitsSoItScoresAsThePolicyNone() {
        final double[] spam = ExitEvaluation.spamAtFullDepth(DEPTHS);
        for (int i = 0; i < DEPTHS.length; i++) {
            assertThat(spam[i]).isEqualTo(ModelOutput.softmax(DEPTHS[i][2], 1)[1]);
        }
        assertThat(Evaluation.of(LABELS, spam)).usingRecursiveComparison()
                .isEqualTo(ExitEvaluation.of(DEPTHS, LABELS, ExitPolicy.NONE).metrics());
    }

    @Test
    void theChoiceRunsTheFewestLayersWithinTheLossAndIsTheSafestOfTheEquallyCheap() {
        final List<ExitEvaluation> strict = ExitEvaluation.choose(DEPTHS, LABELS, 0);
        assertThat(strict.get(0).metrics().accuracy()).as("no loss allowed").isEqualTo(1.0);
        assertThat(strict.get(0).meanLayers()).isEqualTo(1.5);
        assertThat(strict.get(0).policy().threshold()).as("the highest threshold with 1.5 layers")
                .isEqualTo(0.9);
        final List<ExitEvaluation> loose = ExitEvaluation.choose(DEPTHS, LABELS, 30);
        assertThat(loose.get(0).meanLayers()).as("a quarter of the accuracy may go: one layer each").isEqualTo(1.0);
        assertThat(loose.get(0).policy()).as("the one threshold of the grid with one layer each")
                .isEqualTo(ExitPolicy.parse("confidence:0.5"));
        assertThat(loose).extracting(ExitEvaluation::policy).contains(ExitPolicy.NONE);
    }
}
