package dev.streamformer.model;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.List;

/**
 * The model the processor serves when no {@code --model} is given: the trained model shipped on the
 * class path under {@code dev/streamformer/model/default/} (config.json, model.safetensors,
 * tokenizer.json, vocab.txt and its model card). The files are copied to a cache directory, so
 * every process serves the same bytes and the same version.
 */
public final class DefaultModel {

    /** The name the default model reports in predictions. */
    public static final String NAME = "streamformer-default";
    /** The seed of random models built from a config alone (`bench --config`). */
    public static final long SEED = 20_261_128L;

    private static final String RESOURCES = "default/";
    private static Path unpacked;
    private static final List<String> FILES = List.of(ModelDirectory.CONFIG, ModelDirectory.TOKENIZER,
            ModelDirectory.VOCAB, ModelDirectory.WEIGHTS, ModelDirectory.CARD);

    private DefaultModel() {
    }

    /**
     * The directory of the default model, copied from the class path on the first call of this JVM
     * (only files that differ are rewritten): {@code $STREAMFORMER_CACHE/models/streamformer-default},
     * else under {@code ~/.cache/streamformer}.
     *
     * @return the model directory
     * @throws IOException when it cannot be written or the shipped weights are missing
     */
    public static synchronized Path directory() throws IOException {
        if (unpacked == null) {
            unpacked = unpack();
        }
        return unpacked;
    }

    /**
     * @return the directory Streamformer keeps its files in on this machine: {@code $STREAMFORMER_CACHE},
     *     else {@code ~/.cache/streamformer}
     */
    public static Path cacheRoot() {
        final String configured = System.getenv("STREAMFORMER_CACHE");
        return configured != null && !configured.isBlank()
                ? Path.of(configured)
                : Path.of(System.getProperty("user.home"), ".cache", "streamformer");
    }

    private static Path unpack() throws IOException {
        final Path dir = cacheRoot().resolve("models").resolve(NAME);
        Files.createDirectories(dir);
        for (final String file : FILES) {
            try (InputStream in = DefaultModel.class.getResourceAsStream(RESOURCES + file)) {
                if (in == null) {
                    throw new IOException("The shipped model file " + RESOURCES + file + " is missing from the class path:"
                            + " rebuild with `mvn -q -B package -DskipTests`");
                }
                final byte[] bytes = in.readAllBytes();
                final Path target = dir.resolve(file);
                if (!Files.exists(target) || !Arrays.equals(Files.readAllBytes(target), bytes)) {
                    final Path tmp = Files.createTempFile(dir, file, ".tmp");
                    Files.write(tmp, bytes);
                    Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                }
            }
        }
        return dir;
    }

    /** @return whether trained weights ship on the class path */
    public static boolean isTrained() {
        return DefaultModel.class.getResource(RESOURCES + ModelDirectory.WEIGHTS) != null;
    }

    /**
     * Loads the default model.
     *
     * @return the model, named {@value #NAME}
     * @throws IOException when its directory cannot be written or read
     */
    public static InferenceModel load() throws IOException {
        return load(EngineSettings.DEFAULT);
    }

    /**
     * Loads the default model on a chosen engine.
     *
     * @param settings the engine and its threads
     * @return the model, named {@value #NAME}
     * @throws IOException when its directory cannot be written or read
     */
    public static InferenceModel load(final EngineSettings settings) throws IOException {
        return InferenceModel.load(directory(), NAME, settings);
    }
}
