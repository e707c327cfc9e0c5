package dev.streamformer.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.streamformer.model.Activation;
import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.EncoderInput;
import dev.streamformer.model.EngineSettings;
import dev.streamformer.model.InferenceEngine;
import dev.streamformer.model.InferenceModel;
import dev.streamformer.model.ModelConfig;
import dev.streamformer.model.ModelOutput;
import dev.streamformer.model.SharingPlan;

class PriorShiftTest {

    private static final List<String> LABELS = List.of("ham", "spam", "phishing");
    private static final List<EncoderInput> BATCH = List.of(
            EncoderInput.of(2, 17, 33, 4, 99, 3), EncoderInput.of(2, 5, 3), EncoderInput.of(2, 60, 61, 62, 63, 64, 3));

    private static List<ModelOutput> run(final Checkpoint c, final InferenceEngine engine) {
        try (InferenceModel m = new InferenceModel("m", "v", c, EngineSettings.of(engine, 1))) {
            return m.predict(BATCH);
        }
    }

    @Test
    void reweighsEveryProbabilityByServedOverTrainingShareOnBothEngines() {
        final Checkpoint source = Checkpoint.random(new ModelConfig(100, 16, 32, 2, 4, 4, 64, 32, 2,
                Activation.GELU_NEW, 1e-12, true, SharingPlan.ALL, LABELS), 5);
        final double[] trained = {0.80, 0.15, 0.05};
        final double[] served = {0.45, 0.50, 0.05};
        final Checkpoint shifted = PriorShift.shift(source, trained, served);
        for (final InferenceEngine engine : InferenceEngine.values()) {
            final List<ModelOutput> before = run(source, engine);
            final List<ModelOutput> after = run(shifted, engine);
            for (int i = 0; i < BATCH.size(); i++) {
                final float[] p = before.get(i).probabilities();
                double norm = 0;
                for (int c = 0; c < p.length; c++) {
                    norm += p[c] * served[c] / trained[c];
                }
                for (int c = 0; c < p.length; c++) {
                    assertThat((double) after.get(i).probabilities()[c]).as("%s example %d label %d", engine, i, c)
                            .isCloseTo(p[c] * served[c] / trained[c] / norm, within(1e-5));
                }
            }
        }
        assertThat(shifted.tensors()).hasSameSizeAs(source.tensors());
        shifted.tensors().forEach((name, t) -> {
            if (!name.equals("classifier.bias")) {
                assertThat(t).as(name).isSameAs(source.tensors().get(name));
            }
        });
    }

    @Test
    void labelsNotGivenShareTheRestInTheirTrainingProportions() {
        final double[] shares = PriorShift.complete(LABELS, Map.of("spam", 0.5), new double[] {0.8, 0.15, 0.05});
        assertThat(shares[1]).isEqualTo(0.5);
        assertThat(shares[0]).isCloseTo(0.5 * 0.8 / 0.85, within(1e-12));
        assertThat(shares[2]).isCloseTo(0.5 * 0.05 / 0.85, within(1e-12));
        assertThatThrownBy(() -> PriorShift.complete(LABELS, Map.of("junk", 0.5), shares))
                .hasMessageContaining("No label 'junk'").hasMessageContaining("[ham, spam, phishing]");
        assertThatThrownBy(() -> PriorShift.complete(LABELS, Map.of("spam", 0.7, "ham", 0.3), shares))
                .hasMessageContaining("less than 1, leaving a share for [phishing]");
        assertThatThrownBy(() -> PriorShift.complete(LABELS, Map.of("spam", 1.0), shares))
                .hasMessageContaining("above 0 and below 1");
    }
}
