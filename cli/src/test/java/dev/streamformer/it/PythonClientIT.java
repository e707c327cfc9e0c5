package dev.streamformer.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import dev.streamformer.schemas.TokenizedInput;
import dev.streamformer.schemas.serde.Fingerprints;
import dev.streamformer.schemas.serde.StreamformerSerdes;
import dev.streamformer.stream.ModelRegistry;
import dev.streamformer.stream.StreamformerApp;
import dev.streamformer.testkit.EmbeddedKafka;

/**
 * clients/python/streamformer_client.py, on Debian's python3-confluent-kafka and python3-avro,
 * against a real broker and the processor serving the shipped model: text and token ids in,
 * predictions out, a bad request's dead letter read back with its headers.
 */
@Tag("integration")
class PythonClientIT {

    private static final String PYTHON = "/usr/bin/python3";
    private static final Path CLIENT = Path.of("..", "clients", "python", "streamformer_client.py");

    @TempDir
    Path tmp;

    @BeforeAll
    static void needsThePythonClientsPackages() throws Exception {
        final Process p = new ProcessBuilder(PYTHON, "-c", "import confluent_kafka, avro").redirectErrorStream(true).start();
        final boolean ok = p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
        if (!ok) {
            System.out.println("PythonClientIT skipped: " + PYTHON + " cannot import confluent_kafka and avro ("
                    + new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip()
                    + "); install them with: apt-get install -y python3-confluent-kafka python3-avro (.ci/run does)");
        }
        assumeTrue(ok, "python3-confluent-kafka and python3-avro are not installed");
    }

    @Test
    @Timeout(300)
    void producesTextAndTokenIdsAndReadsPredictionsAndADeadLetterWithItsHeaders() throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.start(tmp.resolve("kafka"), 0, Map.of())) {
            final String b = kafka.bootstrapServers();
            final Properties props = new Properties();
            props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, b);
            props.put(StreamsConfig.APPLICATION_ID_CONFIG, "py-processor");
            props.put(StreamsConfig.STATE_DIR_CONFIG, tmp.resolve("state").toString());
            try (StreamformerApp app = StreamformerApp.start(props, new ModelRegistry())) {
                assertThat(app.awaitRunning(Duration.ofSeconds(60))).isTrue();
                assertThat(python("-b", b, "produce", "--text", "Cheap meds, no prescription, click here now",
                        "--id", "py-text")).containsExactly("py-text");
                assertThat(python("-b", b, "produce", "--token-ids", "2,1500,1600,3", "--id", "py-ids"))
                        .containsExactly("py-ids");
                assertThat(python("-b", b, "produce", "--token-ids", "2,99999,3", "--id", "py-bad"))
                        .containsExactly("py-bad");

                // --follow: without it consume stops at the end of the topic, which on a busy machine can come
                // before the second prediction is committed.
                final List<JsonObject> predictions = json(python("-b", b, "consume", "--topic", "predictions",
                        "--max-messages", "2", "--timeout", "60", "--follow"));
                assertThat(predictions).extracting(p -> p.getAsJsonObject("value").get("request_id").getAsString())
                        .containsExactlyInAnyOrder("py-text", "py-ids");
                final JsonObject text = predictions.stream()
                        .filter(p -> p.getAsJsonObject("value").get("request_id").getAsString().equals("py-text"))
                        .findFirst().orElseThrow().getAsJsonObject("value");
                assertThat(text.get("num_tokens").getAsInt()).as("tokens the processor used").isGreaterThan(5);
                assertThat(text.get("label").getAsString()).isIn("ham", "spam");
                assertThat(text.getAsJsonObject("probabilities").keySet()).containsExactly("ham", "spam");

                final List<JsonObject> letters = json(python("-b", b, "consume", "--topic", "dead-letters",
                        "--max-messages", "1", "--timeout", "60", "--follow"));
                assertThat(letters).hasSize(1);
                final JsonObject letter = letters.get(0);
                assertThat(letter.getAsJsonObject("value").get("request_id").getAsString()).isEqualTo("py-bad");
                assertThat(letter.getAsJsonObject("value").get("error_kind").getAsString()).isEqualTo("VALIDATION");
                final JsonObject headers = letter.getAsJsonObject("headers");
                assertThat(headers.get("__streams.errors.message").getAsString()).contains("token id 99999");
                assertThat(headers.get("__streams.errors.exception").getAsString()).contains("InvalidInputException");
                assertThat(headers.get("__streams.errors.topic").getAsString()).isEqualTo("streamformer-requests");
                assertThat(headers.has("__streams.errors.partition")).isTrue();
                assertThat(headers.has("__streams.errors.offset")).isTrue();
                assertThat(headers.has("__streams.errors.stacktrace")).isTrue();
            }
        }
    }

    @Test
    void emptyAndBlankTextIsRefusedBeforeAnythingIsSent() throws Exception {
        for (final String text : List.of("", "  \t ")) {
            // Nothing listens on port 1: the client stops at the text, before it would connect.
            final Process p = new ProcessBuilder(PYTHON, CLIENT.toString(), "-b", "localhost:1", "produce", "--text", text,
                    "--id", "py-empty").redirectErrorStream(true).start();
            final String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).as(out).isEqualTo(1);
            assertThat(out).contains("request py-empty: the text is empty");
        }
    }

    @Test
    void theClientsFingerprintsAreJavasAndTheLibrarysOwnCanonicalFormHasTheBugTheReaderNames() throws Exception {
        final List<String> lines = python("fingerprints");
        for (final Map.Entry<String, org.apache.avro.Schema> e : StreamformerSerdes.schemas().entrySet()) {
            if (e.getKey().contains("version")) {
                continue;
            }
            assertThat(lines).as(e.getKey()).contains(e.getKey() + " " + Fingerprints.hex(Fingerprints.of(e.getValue()))
                    + " " + Fingerprints.canonicalForm(e.getValue()));
        }
        final Path avsc = Path.of("..", "schemas", "src", "main", "avro", "TokenizedInput.avsc");
        final Process p = new ProcessBuilder(PYTHON, "-c",
                "import sys, avro.schema; print(avro.schema.parse(open(sys.argv[1]).read()).canonical_form)",
                avsc.toString()).redirectErrorStream(true).start();
        final String libraryForm = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertThat(p.waitFor()).isZero();
        assertThat(libraryForm).as("Apache Avro's Python library, as Debian ships it")
                .isEqualTo(Fingerprints.canonicalForm(TokenizedInput.getClassSchema(), true))
                .isNotEqualTo(Fingerprints.canonicalForm(TokenizedInput.getClassSchema()));
    }

    private List<String> python(final String... args) throws IOException, InterruptedException {
        final List<String> command = new ArrayList<>(List.of(PYTHON, CLIENT.toString()));
        command.addAll(List.of(args));
        final Path log = Files.createTempFile(tmp, "python", ".log");
        final Process p = new ProcessBuilder(command).redirectError(log.toFile()).start();
        final String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("exit code of %s; stderr: %s", command, Files.readString(log)).isZero();
        return out.lines().filter(l -> !l.isBlank()).toList();
    }

    private static List<JsonObject> json(final List<String> lines) {
        return lines.stream().map(l -> JsonParser.parseString(l).getAsJsonObject()).toList();
    }
}
