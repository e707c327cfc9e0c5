package dev.streamformer.it;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real Apicurio Registry for the tests: the app the build unpacked from Maven Central
 * ({@code target/apicurio-registry}, io.apicurio:apicurio-registry-app), run with a Java 21+ JDK on
 * loopback (its HTTP and management ports both), storing in an H2 file so that a restart keeps the
 * schemas and their ids.
 */
final class ApicurioRegistry implements AutoCloseable {

    /** Where the build unpacks the app. */
    static final Path APP = Path.of("target", "apicurio-registry", "quarkus-run.jar");

    private final Path java;
    private final Path data;
    private final Path log;
    private final int port;
    private final int managementPort;
    private Process process;

    private ApicurioRegistry(final Path java, final Path data, final Path log) throws IOException {
        this.java = java;
        this.data = data;
        this.log = log;
        this.port = freePort();
        this.managementPort = freePort();
    }

    /**
     * @return a Java 21+ launcher: $STREAMFORMER_JAVA21_HOME, else the newest JDK under /usr/lib/jvm
     *     whose release file says 21 or later
     */
    static Optional<Path> java21() {
        final String home = System.getenv("STREAMFORMER_JAVA21_HOME");
        if (home != null && !home.isBlank()) {
            return Optional.of(Path.of(home, "bin", "java")).filter(Files::isExecutable);
        }
        try (Stream<Path> jdks = Files.list(Path.of("/usr/lib/jvm"))) {
            return jdks.filter(d -> major(d) >= 21).max((a, b) -> Integer.compare(major(a), major(b)))
                    .map(d -> d.resolve("bin").resolve("java")).filter(Files::isExecutable);
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private static int major(final Path jdk) {
        try {
            for (final String line : Files.readAllLines(jdk.resolve("release"))) {
                if (line.startsWith("JAVA_VERSION=")) {
                    final String v = line.substring("JAVA_VERSION=".length()).replace("\"", "");
                    return Integer.parseInt(v.split("[.+-]")[0]);
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    /**
     * Starts the registry and waits until its API answers.
     *
     * @param java a Java 21+ launcher
     * @param dir where its data and log go
     * @return the running registry
     * @throws Exception when it does not start within 120 s
     */
    static ApicurioRegistry start(final Path java, final Path dir) throws Exception {
        final ApicurioRegistry r = new ApicurioRegistry(java, dir.resolve("data"), dir.resolve("registry.log"));
        r.restart();
        return r;
    }

    /** Starts it again (after {@link #stop}) on the same ports and data. */
    void restart() throws Exception {
        Files.createDirectories(data);
        process = new ProcessBuilder(List.of(java.toString(), "-Xmx384m",
                "-Dquarkus.http.host=127.0.0.1", "-Dquarkus.http.port=" + port,
                "-Dquarkus.management.host=127.0.0.1", "-Dquarkus.management.port=" + managementPort,
                "-Dapicurio.datasource.url=jdbc:h2:file:" + data.toAbsolutePath().resolve("registry")
                        + ";DB_CLOSE_ON_EXIT=FALSE",
                "-jar", APP.toAbsolutePath().toString()))
                .directory(APP.toAbsolutePath().getParent().toFile()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        final HttpClient http = HttpClient.newHttpClient();
        final long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("Apicurio Registry exited with " + process.exitValue() + "; see " + log);
            }
            try {
                if (http.send(HttpRequest.newBuilder(URI.create(ccompatUrl() + "/subjects")).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // Not listening yet.
            }
            Thread.sleep(250);
        }
        throw new IllegalStateException("Apicurio Registry did not answer within 120 s; see " + log);
    }

    /** Stops it: SIGTERM, then SIGKILL after 20 s. */
    void stop() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroy();
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    /** @return the Confluent-compatible API, for the processor and Python's confluent_kafka */
    String ccompatUrl() {
        return "http://127.0.0.1:" + port + "/apis/ccompat/v7";
    }

    /** @return Apicurio's own v3 API, for its Java serdes */
    String v3Url() {
        return "http://127.0.0.1:" + port + "/apis/registry/v3";
    }

    @Override
    public void close() throws InterruptedException {
        stop();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
