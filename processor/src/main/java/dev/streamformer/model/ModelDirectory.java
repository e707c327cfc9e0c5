package dev.streamformer.model;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * A model directory, the one place that knows its files:
 * <pre>
 *   config.json         architecture, sharing plan, labels (ModelConfig)
 *   model.safetensors   the unique tensors (Checkpoint), or
 *   model.onnx          an ONNX sequence classifier, served as it is
 *   tokenizer.json      the Hugging Face tokenizer; vocab.txt, the same vocabulary one token per line
 *   README.md           the model card
 * </pre>
 * Its version is a content hash, so the same files are the same version on every machine.
 */
public final class ModelDirectory {

    /** The architecture and sharing plan. */
    public static final String CONFIG = "config.json";
    /** The unique tensors, safetensors format. */
    public static final String WEIGHTS = "model.safetensors";
    /** An ONNX graph; when present it is what the ONNX Runtime engine serves. */
    public static final String ONNX = "model.onnx";
    /** The Hugging Face tokenizer. */
    public static final String TOKENIZER = "tokenizer.json";
    /** The vocabulary, one token per line, line number = id. */
    public static final String VOCAB = "vocab.txt";
    /** The model card. */
    public static final String CARD = "README.md";
    /** The files that travel with the weights when a model is derived or exported. */
    public static final List<String> COMPANIONS = List.of(CONFIG, TOKENIZER, VOCAB, CARD);
    /** The tokenizer's files. */
    public static final List<String> TOKENIZER_FILES = List.of(TOKENIZER, VOCAB);

    private ModelDirectory() {
    }

    /**
     * The content hash of a model directory: the first 16 hex digits of the SHA-256 of config.json
     * followed by its weights (model.onnx when present, else model.safetensors).
     *
     * @param dir the model directory
     * @return the version
     * @throws IOException when the files cannot be read
     */
    public static String version(final Path dir) throws IOException {
        final String weights = Files.isRegularFile(dir.resolve(ONNX)) ? ONNX : WEIGHTS;
        try {
            final MessageDigest digest = MessageDigest.getInstance("SHA-256");
            for (final String file : List.of(CONFIG, weights)) {
                try (InputStream in = new DigestInputStream(Files.newInputStream(dir.resolve(file)), digest)) {
                    in.transferTo(OutputStream.nullOutputStream());
                }
            }
            return HexFormat.of().formatHex(digest.digest()).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    /**
     * Writes a checkpoint (config.json + model.safetensors) with the tokenizer of another model
     * directory: what every tool that derives a model (train, share, prune, quantize) writes.
     *
     * @param model the weights
     * @param tokenizerFrom a directory with tokenizer.json and vocab.txt
     * @param out the directory to write
     * @throws IOException when writing fails
     */
    public static void save(final Checkpoint model, final Path tokenizerFrom, final Path out) throws IOException {
        model.save(out);
        copy(tokenizerFrom, out, TOKENIZER_FILES);
    }

    /**
     * Copies the files of {@code names} that {@code from} has into {@code to}.
     *
     * @param from a model directory
     * @param to another directory
     * @param names file names, for example {@link #COMPANIONS}
     * @throws IOException when copying fails
     */
    public static void copy(final Path from, final Path to, final List<String> names) throws IOException {
        Files.createDirectories(to);
        for (final String file : names) {
            final Path source = from.resolve(file);
            final Path target = to.resolve(file);
            if (Files.isRegularFile(source) && !source.toAbsolutePath().normalize().equals(target.toAbsolutePath().normalize())) {
                Files.copy(source, target, StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    /**
     * @param dir a directory
     * @return whether it holds weights this project can serve (model.safetensors or model.onnx) beside config.json
     */
    public static boolean isModel(final Path dir) {
        return Files.isRegularFile(dir.resolve(CONFIG))
                && (Files.isRegularFile(dir.resolve(WEIGHTS)) || Files.isRegularFile(dir.resolve(ONNX)));
    }
}
