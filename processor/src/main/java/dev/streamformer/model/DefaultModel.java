package dev.streamformer.model;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.List;

/**
 * The model the processor serves when no {@code --model} is given: the files shipped on the class
 * path under {@code dev/streamformer/model/default/} (config.json, tokenizer.json, vocab.txt, and
 * model.safetensors once a trained model ships). Without shipped weights, the weights are a seeded
 * random initialisation of the shipped config. The files are copied to a cache directory, so every
 * process serves the same bytes and the same version.
 */
public final class DefaultModel {

    /** The name the default model reports in predictions. */
    public static final String NAME = "streamformer-default";
    /** The seed of the weights when no trained weights ship. */
    public static final long SEED = 20_261_128L;

    private static final String RESOURCES = "default/";
    private static final List<String> FILES = List.of(ModelConfig.FILE_NAME, "tokenizer.json", "vocab.txt",
            Checkpoint.WEIGHTS_FILE, "README.md");

    private DefaultModel() {
    }

    /**
     * The directory of the default model, refreshed from the class path on every call:
     * {@code $STREAMFORMER_CACHE/models/streamformer-default}, else under {@code ~/.cache/streamformer}.
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
        Files.createDirectories(dir);
        boolean shippedWeights = false;
        for (final String file : FILES) {
            try (InputStream in = DefaultModel.class.getResourceAsStream(RESOURCES + file)) {
                if (in == null) {
                    continue;
                }
                final byte[] bytes = in.readAllBytes();
                final Path target = dir.resolve(file);
                if (!Files.exists(target) || !Arrays.equals(Files.readAllBytes(target), bytes)) {
                    final Path tmp = Files.createTempFile(dir, file, ".tmp");
                    Files.write(tmp, bytes);
                    Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                }
                shippedWeights |= file.equals(Checkpoint.WEIGHTS_FILE);
            }
        }
        if (!shippedWeights) {
            final Checkpoint random = Checkpoint.random(ModelConfig.read(dir), SEED);
            final Path weights = dir.resolve(Checkpoint.WEIGHTS_FILE);
            if (!Files.isRegularFile(weights) || !matches(weights, random)) {
                random.save(dir);
            }
        }
        return dir;
    }

    private static boolean matches(final Path weights, final Checkpoint expected) {
        try {
            final Checkpoint stored = Checkpoint.load(weights.getParent());
            for (final String name : expected.tensors().keySet()) {
                if (!Arrays.equals(stored.floats(name), expected.floats(name))) {
                    return false;
                }
            }
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** @return whether trained weights ship; if not, the default model is a seeded random initialisation */
    public static boolean isTrained() {
        return DefaultModel.class.getResource(RESOURCES + Checkpoint.WEIGHTS_FILE) != null;
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
