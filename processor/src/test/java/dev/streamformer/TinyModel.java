package dev.streamformer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

import dev.streamformer.model.Activation;
import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.ModelConfig;
import dev.streamformer.model.SharingPlan;

/** The seeded random two-layer model the broker tests serve: fast enough that Kafka, not the model, is tested. */
public final class TinyModel {

    private TinyModel() {
    }

    /**
     * @param dir where to write config.json and model.safetensors
     * @return the directory
     * @throws IOException when it cannot be written
     */
    public static Path save(final Path dir) throws IOException {
        return save(dir, 5);
    }

    /**
     * Another version of the same model: the same architecture, labels and vocabulary, other weights.
     *
     * @param dir where to write config.json and model.safetensors
     * @param seed the seed of the weights
     * @return the directory
     * @throws IOException when it cannot be written
     */
    public static Path save(final Path dir, final long seed) throws IOException {
        Checkpoint.random(new ModelConfig(500, 16, 32, 2, 4, 4, 64, 64, 2, Activation.GELU_NEW, 1e-12, true,
                SharingPlan.ALL, List.of("ham", "spam")), seed).save(dir);
        return dir;
    }
}
