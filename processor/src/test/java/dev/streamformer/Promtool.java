package dev.streamformer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** {@code promtool check metrics}, from Debian's prometheus package, on a scrape. */
public final class Promtool {

    private Promtool() {
    }

    /**
     * Asserts that promtool finds nothing to complain about; skips (saying why) where it is missing.
     *
     * @param text metrics in the Prometheus text format
     * @throws Exception when promtool cannot be run
     */
    public static void assertAccepts(final String text) throws Exception {
        assumePresent();
        final Process p = new ProcessBuilder("promtool", "check", "metrics").redirectErrorStream(true).start();
        p.getOutputStream().write(text.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        final String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(out).as("promtool check metrics").isEmpty();
        assertThat(p.exitValue()).as("promtool exit code; output: %s", out).isZero();
    }

    /**
     * Asserts that a promtool command succeeds, for example {@code check config prometheus.yml}.
     *
     * @param args promtool's arguments
     * @throws Exception when promtool cannot be run
     */
    public static void assertCommand(final String... args) throws Exception {
        assumePresent();
        final List<String> command = new java.util.ArrayList<>(List.of("promtool"));
        command.addAll(List.of(args));
        final Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        final String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("%s; output: %s", command, out).isZero();
    }

    private static void assumePresent() {
        final boolean present = List.of(System.getenv("PATH").split(File.pathSeparator)).stream()
                .anyMatch(dir -> new File(dir, "promtool").canExecute());
        if (!present) {
            System.out.println("promtool check skipped: promtool is not on the PATH; install it with"
                    + " apt-get install -y prometheus (.ci/run does)");
        }
        assumeTrue(present, "promtool is not installed");
    }
}
