package dev.streamformer.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import org.junit.jupiter.api.Test;

import dev.streamformer.model.Activation;
import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.ModelConfig;
import dev.streamformer.model.SharingPlan;

class WeightAverageTest {

    private static ModelConfig config(final int layers) {
        return new ModelConfig(100, 16, 32, layers, 4, 4, 64, 32, 2, Activation.GELU_NEW, 1e-12, true, SharingPlan.ALL,
                List.of("ham", "spam"));
    }

    @Test
    void everyTensorIsTheMeanOfTheCheckpoints() {
        final Checkpoint a = Checkpoint.random(config(3), 1);
        final Checkpoint b = Checkpoint.random(config(3), 2);
        final Checkpoint c = Checkpoint.random(config(3), 3);
        final Checkpoint mean = WeightAverage.of(List.of(a, b, c));
        assertThat(mean.config()).isEqualTo(a.config());
        assertThat(mean.tensors().keySet()).isEqualTo(a.tensors().keySet());
        for (final String name : a.tensors().keySet()) {
            final float[] x = a.floats(name);
            final float[] y = b.floats(name);
            final float[] z = c.floats(name);
            final float[] m = mean.floats(name);
            for (int i = 0; i < m.length; i++) {
                assertThat(m[i]).as("%s[%d]", name, i).isCloseTo((x[i] + y[i] + z[i]) / 3, org.assertj.core.data.Offset.offset(1e-6f));
            }
        }
        final Checkpoint same = WeightAverage.of(List.of(a, a));
        for (final String name : a.tensors().keySet()) {
            assertThat(same.floats(name)).as("the mean of a checkpoint with itself").containsExactly(a.floats(name));
        }
    }

    @Test
    void checkpointsOfAnotherArchitectureOrFewerThanTwoAreRefused() {
        assertThatThrownBy(() -> WeightAverage.of(List.of(Checkpoint.random(config(3), 1), Checkpoint.random(config(4), 1))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("one config.json");
        assertThatThrownBy(() -> WeightAverage.of(List.of(Checkpoint.random(config(3), 1))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least two");
    }
}
