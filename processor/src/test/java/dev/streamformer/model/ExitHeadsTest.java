package dev.streamformer.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Exit heads in config.json and model.safetensors: documented names, counted, and absent by default. */
class ExitHeadsTest {

    @TempDir
    Path dir;

    @Test
    void perLayerExitsAreStoredUnderTheirNamesDescribedInConfigJsonAndCounted() throws Exception {
        final ModelConfig plain = TestModels.small(SharingPlan.ALL);
        final ModelConfig config = plain.withExits(ExitHeads.PER_LAYER);
        final Checkpoint checkpoint = TestModels.randomized(config, 7);
        checkpoint.save(dir);
        assertThat(Files.readString(dir.resolve(ModelDirectory.CONFIG))).contains("\"exits\": \"per_layer\"");
        final Checkpoint loaded = Checkpoint.load(dir);
        assertThat(loaded.config()).isEqualTo(config);
        final long h = config.hiddenSize();
        final long perExit = h * h + h + config.numLabels() * h + config.numLabels();
        assertThat(ParameterStats.of(loaded).uniqueParameters() - ParameterStats.of(TestModels.randomized(plain, 7))
                .uniqueParameters()).as("one pooler and classifier per layer but the last")
                .isEqualTo((config.numLayers() - 1) * perExit);
        assertThat(loaded.tensors()).containsKeys("streamformer.exits.0.pooler.weight",
                "streamformer.exits.0.classifier.bias", "streamformer.exits." + (config.numLayers() - 2) + ".pooler.bias")
                .doesNotContainKey("streamformer.exits." + (config.numLayers() - 1) + ".pooler.weight");
        assertThat(ParameterLayout.classifierPrefix(config, config.numLayers() - 1))
                .as("the last layer is read by the model's own classifier").isEqualTo(ParameterLayout.CLASSIFIER_PREFIX);
    }

    @Test
    void sharedExitsAddNoTensorsAndAModelWithoutExitsReadsAsBefore() throws Exception {
        final ModelConfig plain = TestModels.small(SharingPlan.ALL);
        assertThat(plain.exits()).isEqualTo(ExitHeads.NONE);
        assertThat(plain.toJson()).doesNotContain("\"exits\"");
        final ModelConfig shared = plain.withExits(ExitHeads.SHARED);
        assertThat(ParameterLayout.of(shared)).extracting(ParameterSpec::name)
                .isEqualTo(ParameterLayout.of(plain).stream().map(ParameterSpec::name).toList());
        TestModels.randomized(shared, 3).save(dir);
        assertThat(ModelConfig.read(dir).exits()).isEqualTo(ExitHeads.SHARED);
        assertThat(ExitHeads.parse("per-layer")).isEqualTo(ExitHeads.PER_LAYER);
        assertThatThrownBy(() -> ExitHeads.parse("every")).hasMessageContaining("[none, shared, per_layer]");
    }
}
