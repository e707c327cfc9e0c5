package dev.streamformer.model;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The model the processor serves when no {@code --model} is given. Until a trained model ships,
 * it is a seeded random model built from the shipped config ({@code default-config.json}), written
 * once to a cache directory so that every process serves the same bytes and the same version.
 */
public final class DefaultModel {

    /** The name the default model reports in predictions. */
    public static final String NAME = "streamformer-default";
    /** The seed of the default model's weights. */
    public static final long SEED = 20_261_128L;

    private static final String CONFIG_RESOURCE = "default-config.json";

    private DefaultModel() {
    }

    /** @return the shipped config */
    public static ModelConfig config() {
        return ModelConfig.fromJson(configJson());
    }

    private static String configJson() {
        try (InputStream in = DefaultModel.class.getResourceAsStream(CONFIG_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("The shipped " + CONFIG_RESOURCE + " is missing from the class path");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("Cannot read the shipped " + CONFIG_RESOURCE, e);
        }
    }

    /**
     * The directory of the default model, created on first use under the cache directory:
     * {@code $STREAMFORMER_CACHE}, else {@code ~/.cache/streamformer}.
     *
     * @return the model directory
     * @throws IOException when it cannot be written
     */
    public static Path directory() throws IOException {
        final String configured = System.getenv("STREAMFORMER_CACHE");
        final Path cache = configured != null && !configured.isBlank()
                ? Path.of(configured)
                : Path.of(System.getProperty("user.home"), ".cache", "streamformer");
        final Path dir = cache.resolve("models").resolve(NAME);
        if (!Files.isRegularFile(dir.resolve(Checkpoint.WEIGHTS_FILE))
                || !Files.readString(dir.resolve(ModelConfig.FILE_NAME)).equals(config().toJson())) {
            Checkpoint.random(config(), SEED).save(dir);
        }
        return dir;
    }

    /**
     * Loads the default model.
     *
     * @return the model, named {@value #NAME}
     * @throws IOException when its directory cannot be written or read
     */
    public static InferenceModel load() throws IOException {
        final Path dir = directory();
        return new InferenceModel(NAME, Checkpoint.version(dir), Checkpoint.load(dir));
    }
}
