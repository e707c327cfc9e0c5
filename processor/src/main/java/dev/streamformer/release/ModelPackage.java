package dev.streamformer.release;

import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import dev.streamformer.model.ModelDirectory;
import dev.streamformer.schemas.ModelArtifact;

/**
 * A model directory as it travels through the models topic: its files by name, their SHA-256, and
 * the directory a processor unpacks them to before it loads them. The hash covers every file in
 * name order (name, length, bytes), so a truncated copy or a file from another version is caught
 * before anything loads.
 */
public final class ModelPackage {

    /** The files of a model directory that travel; a directory holds some of them. */
    public static final List<String> FILES = List.of(ModelDirectory.CONFIG, ModelDirectory.WEIGHTS,
            ModelDirectory.ONNX, ModelDirectory.TOKENIZER, ModelDirectory.VOCAB, ModelDirectory.CARD);
    private static final String COMPLETE = ".complete";

    private ModelPackage() {
    }

    /**
     * @param dir a model directory
     * @return its files that travel, by name
     * @throws IOException when they cannot be read, or the directory is not a model
     */
    public static Map<String, byte[]> read(final Path dir) throws IOException {
        if (!ModelDirectory.isModel(dir)) {
            throw new IOException(dir + " is not a model directory: it needs " + ModelDirectory.CONFIG + " and "
                    + ModelDirectory.WEIGHTS + " or " + ModelDirectory.ONNX);
        }
        final Map<String, byte[]> files = new TreeMap<>();
        for (final String name : FILES) {
            final Path file = dir.resolve(name);
            if (Files.isRegularFile(file)) {
                files.put(name, Files.readAllBytes(file));
            }
        }
        return files;
    }

    /**
     * @param files files by name
     * @return the hex SHA-256 over them in name order, each as its UTF-8 name, its length and its bytes
     */
    public static String sha256(final Map<String, byte[]> files) {
        try {
            final MessageDigest digest = MessageDigest.getInstance("SHA-256");
            for (final Map.Entry<String, byte[]> e : new TreeMap<>(files).entrySet()) {
                digest.update(e.getKey().getBytes(StandardCharsets.UTF_8));
                digest.update(ByteBuffer.allocate(Long.BYTES).putLong(e.getValue().length).array());
                digest.update(e.getValue());
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    /** @return the total bytes of the files */
    static long size(final Map<String, byte[]> files) {
        return files.values().stream().mapToLong(b -> b.length).sum();
    }

    /**
     * Unpacks an artifact where this JVM loads it from: {@code root/<version>-<first 12 hex of sha256>},
     * written once (an existing complete copy is reused) through a temporary directory and an atomic
     * rename, so a crash never leaves half a model behind a complete name.
     *
     * @param artifact the version: its files inline, or a location to copy them from
     * @param root the cache directory of the model's name
     * @return the directory holding exactly the artifact's files
     * @throws IOException when the files cannot be read or written, or their hash is not the artifact's
     */
    public static Path unpack(final ModelArtifact artifact, final Path root) throws IOException {
        final String sha = artifact.getSha256().toString();
        final Path dir = root.resolve(safe(artifact.getVersion().toString()) + "-" + sha.substring(0, Math.min(12,
                sha.length())));
        if (Files.exists(dir.resolve(COMPLETE))) {
            return dir;
        }
        final Map<String, byte[]> files = files(artifact);
        final String actual = sha256(files);
        if (!actual.equals(sha)) {
            throw new IOException("the files of version " + artifact.getVersion() + " hash to " + actual
                    + ", not to the published " + sha + (artifact.getLocation() != null ? " (was " + artifact.getLocation()
                    + " changed after it was published? publish it again)" : ""));
        }
        Files.createDirectories(root);
        final Path tmp = Files.createTempDirectory(root, ".unpack-");
        for (final Map.Entry<String, byte[]> e : files.entrySet()) {
            Files.write(tmp.resolve(e.getKey()), e.getValue());
        }
        Files.writeString(tmp.resolve(COMPLETE), sha + "\n");
        try {
            Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            // Another JVM sharing the cache unpacked it first.
            deleteTree(tmp);
            if (!Files.exists(dir.resolve(COMPLETE))) {
                throw e;
            }
        }
        return dir;
    }

    private static Map<String, byte[]> files(final ModelArtifact artifact) throws IOException {
        final Map<String, byte[]> files = new TreeMap<>();
        if (artifact.getFiles() != null) {
            artifact.getFiles().forEach((name, bytes) -> {
                final byte[] b = new byte[bytes.remaining()];
                bytes.duplicate().get(b);
                files.put(name.toString(), b);
            });
            for (final String name : files.keySet()) {
                if (!FILES.contains(name)) {
                    throw new IOException("version " + artifact.getVersion() + " carries a file named '" + name
                            + "'; a model package holds only " + FILES);
                }
            }
            return files;
        }
        if (artifact.getLocation() == null) {
            throw new IOException("version " + artifact.getVersion() + " has neither files nor a location");
        }
        final String location = artifact.getLocation().toString();
        final Path dir = location.startsWith("file:") ? Path.of(URI.create(location)) : Path.of(location);
        if (!Files.isDirectory(dir)) {
            throw new IOException("the location " + location + " of version " + artifact.getVersion()
                    + " is not a directory this processor can read: mount it on every instance");
        }
        return read(dir);
    }

    private static String safe(final String s) {
        return s.replaceAll("[^A-Za-z0-9._-]", "_");
    }

    /**
     * @param dir a directory
     * @throws IOException when something in it cannot be deleted
     */
    static void deleteTree(final Path dir) throws IOException {
        try (var walk = Files.walk(dir)) {
            for (final Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
