package dev.streamformer.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
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

import dev.streamformer.stream.ModelRegistry;
import dev.streamformer.stream.StreamformerApp;
import dev.streamformer.stream.StreamformerConfig;
import dev.streamformer.testkit.EmbeddedKafka;

/**
 * JSON with no Avro library anywhere: kcat (Debian) produces JSON requests with a traceparent header,
 * the processor (streamformer.output.format=json) serves them, and kcat reads JSON predictions,
 * latency events and dead letters back, each with the request's header; ten kinds of bad JSON each become a dead
 * letter naming what is wrong.
 */
@Tag("integration")
class JsonRequestsIT {

    private static final String TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    /** Each bad request (by key) and what its dead letter must say. */
    private static final Map<String, List<String>> BAD = new LinkedHashMap<>();

    static {
        BAD.put("bad-truncated", List.of("{\"request_id\": \"bad-truncated\", \"text\": \"x\"", "malformed"));
        BAD.put("bad-array", List.of("[\"bad-array\"]", "is a JSON array, not an object"));
        BAD.put("bad-no-id", List.of("{\"text\": \"where is my id\"}", "\"request_id\" is missing"));
        BAD.put("bad-id-type", List.of("{\"request_id\": 7, \"text\": \"x\"}", "\"request_id\" is a number, not a string at $.request_id"));
        BAD.put("bad-ids-string", List.of("{\"request_id\": \"bad-ids-string\", \"token_ids\": \"2 5 3\"}",
                "\"token_ids\" is a string, not an array of integers at $.token_ids"));
        BAD.put("bad-ids-fraction", List.of("{\"request_id\": \"bad-ids-fraction\", \"token_ids\": [2, 5.5, 3]}",
                "element 1 of \"token_ids\" is 5.5, not a 32-bit integer"));
        BAD.put("bad-typo", List.of("{\"request_id\": \"bad-typo\", \"txet\": \"hello\"}",
                "unknown field \"txet\" at $.txet (line 1, column"));
        BAD.put("bad-metadata", List.of("{\"request_id\": \"bad-metadata\", \"text\": \"x\", \"metadata\": {\"n\": 1}}",
                "metadata \"n\" is a number, not a string at $.metadata.n"));
        BAD.put("bad-twice", List.of("{\"request_id\": \"bad-twice\", \"text\": \"x\", \"text\": \"y\"}",
                "field \"text\" given twice"));
        BAD.put("bad-time", List.of("{\"request_id\": \"bad-time\", \"text\": \"x\", \"created_at\": \"yesterday\"}",
                "\"created_at\" is \"yesterday\", not an ISO-8601 instant"));
    }

    @TempDir
    Path tmp;

    @BeforeAll
    static void needsKcat() throws Exception {
        boolean ok;
        try {
            final Process p = new ProcessBuilder("kcat", "-V").redirectErrorStream(true).start();
            ok = p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            ok = false;
        }
        if (!ok) {
            System.out.println("JsonRequestsIT skipped: no kcat on the PATH; install it with apt-get install -y kcat"
                    + " (.ci/run does)");
        }
        assumeTrue(ok, "kcat is not installed");
    }

    @Test
    @Timeout(300)
    void kcatProducesJsonAndReadsJsonPredictionsAndDeadLettersThatNameTheFault() throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.start(tmp.resolve("kafka"), 0, Map.of())) {
            final String b = kafka.bootstrapServers();
            final Properties props = new Properties();
            props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, b);
            props.put(StreamsConfig.APPLICATION_ID_CONFIG, "json-processor");
            props.put(StreamsConfig.STATE_DIR_CONFIG, tmp.resolve("state").toString());
            props.put(StreamformerConfig.OUTPUT_FORMAT_CONFIG, "json");
            try (StreamformerApp app = StreamformerApp.start(props, new ModelRegistry())) {
                assertThat(app.awaitRunning(Duration.ofSeconds(60))).isTrue();
                final StringBuilder good = new StringBuilder()
                        .append("json-text|{\"request_id\": \"json-text\", \"text\": \"Cheap meds, no prescription, click here\"}\n")
                        .append("json-ids|{\"request_id\": \"json-ids\", \"input_ids\": [2, 1500, 1600, 3], \"metadata\": {\"source\": \"kcat\"}}\n");
                kcat(good.toString(), "-b", b, "-P", "-t", "streamformer-requests", "-K", "|", "-H", "traceparent=" + TRACEPARENT);
                final StringBuilder bad = new StringBuilder();
                BAD.forEach((key, v) -> bad.append(key).append('|').append(v.get(0)).append('\n'));
                kcat(bad.toString(), "-b", b, "-P", "-t", "streamformer-requests", "-K", "|", "-H", "traceparent=" + TRACEPARENT);

                final Map<String, Line> predictions = read(b, "streamformer-predictions", 2);
                assertThat(predictions.keySet()).containsExactlyInAnyOrder("json-text", "json-ids");
                predictions.values().forEach(l -> {
                    assertThat(l.value().get("label").getAsString()).isIn("ham", "spam");
                    assertThat(l.value().getAsJsonObject("probabilities").keySet()).containsExactlyInAnyOrder("ham", "spam");
                    assertThat(l.headers()).as("the request's traceparent, carried through").contains("traceparent=" + TRACEPARENT);
                });
                final Map<String, Line> latency = read(b, "streamformer-latency", 2);
                assertThat(latency.keySet()).containsExactlyInAnyOrder("json-text", "json-ids");
                latency.values().forEach(l -> assertThat(l.headers()).contains("traceparent=" + TRACEPARENT));

                final Map<String, Line> letters = read(b, "streamformer-dead-letters", BAD.size());
                assertThat(letters.keySet()).containsExactlyInAnyOrderElementsOf(BAD.keySet());
                BAD.forEach((key, v) -> {
                    final JsonObject d = letters.get(key).value();
                    assertThat(d.get("error_kind").getAsString()).as(key).isEqualTo("DESERIALIZATION");
                    assertThat(d.get("error_message").getAsString()).as(key).startsWith("JSON request").contains(v.get(1));
                    assertThat(new String(java.util.Base64.getDecoder().decode(d.get("value").getAsString()),
                            StandardCharsets.UTF_8)).as(key + ": the original bytes").isEqualTo(v.get(0));
                });
                // A dead letter keeps the request's headers (beside Kafka Streams' dead-letter headers).
                for (final var r : TopicReader.readAll(b, "streamformer-dead-letters",
                        new org.apache.kafka.common.serialization.StringDeserializer(),
                        new org.apache.kafka.common.serialization.ByteArrayDeserializer(), BAD.size(), Duration.ofSeconds(30))) {
                    assertThat(new String(r.headers().lastHeader("traceparent").value(), StandardCharsets.UTF_8))
                            .as(r.key()).isEqualTo(TRACEPARENT);
                    assertThat(r.headers().lastHeader("__streams.errors.message")).as(r.key()).isNotNull();
                }
            }
        }
    }

    private record Line(String key, String headers, JsonObject value) {
    }

    /**
     * kcat -C of a whole topic, read_committed, as key, headers and the JSON value. A dead letter's
     * headers hold a stack trace over many lines, so they are left out there.
     */
    private Map<String, Line> read(final String bootstrap, final String topic, final int expected) throws Exception {
        final boolean headers = !topic.endsWith("dead-letters");
        final long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        Map<String, Line> lines = Map.of();
        while (System.nanoTime() < deadline) {
            final String out = kcat("", "-b", bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q",
                    "-X", "isolation.level=read_committed", "-f", headers ? "%k\t%h\t%s\n" : "%k\t-\t%s\n");
            final Map<String, Line> found = new HashMap<>();
            for (final String l : out.split("\n")) {
                final String[] parts = l.split("\t", 3);
                if (parts.length == 3) {
                    found.put(parts[0], new Line(parts[0], parts[1], JsonParser.parseString(parts[2]).getAsJsonObject()));
                }
            }
            lines = found;
            if (lines.size() >= expected) {
                break;
            }
            Thread.sleep(500);
        }
        return lines;
    }

    private String kcat(final String input, final String... args) throws Exception {
        final List<String> command = new ArrayList<>(List.of("kcat"));
        command.addAll(List.of(args));
        final Path err = Files.createTempFile(tmp, "kcat", ".log");
        final Process p = new ProcessBuilder(command).redirectError(err.toFile()).start();
        p.getOutputStream().write(input.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        final String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("kcat %s: %s", command, Files.readString(err)).isZero();
        return out;
    }
}
