package dev.streamformer.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import dev.streamformer.client.Requests;
import dev.streamformer.schemas.serde.StreamformerSerdes;
import dev.streamformer.stream.ModelRegistry;
import dev.streamformer.stream.StreamformerApp;
import dev.streamformer.stream.StreamformerAppConfig;
import dev.streamformer.testkit.EmbeddedKafka;

/**
 * The Grafana dashboard's queries against a real Prometheus (Debian's) scraping a running processor
 * with traffic, on loopback: every panel's query, run through Prometheus' HTTP API, returns data;
 * Prometheus loads the alert and recording rules and evaluates each without error, and with one
 * request in ten garbage the dead-letter alert, and only it, goes pending. Grafana itself is
 * not packaged for Debian; what it would show is what these queries return.
 */
@Tag("integration")
class GrafanaDashboardIT {

    private static final Path DASHBOARD = Path.of("..", "deploy", "grafana", "streamformer-dashboard.json");
    private static final Path ALERTS = Path.of("..", "deploy", "prometheus", "streamformer-alerts.yml");
    private static final Path RECORDING = Path.of("..", "docker", "streamformer-rules.yml");

    @TempDir
    Path tmp;

    @Test
    @Timeout(400)
    void everyPanelsQueryReturnsDataFromAPrometheusScrapingAProcessor() throws Exception {
        final boolean present = List.of(System.getenv("PATH").split(File.pathSeparator)).stream()
                .anyMatch(dir -> new File(dir, "prometheus").canExecute());
        if (!present) {
            System.out.println("GrafanaDashboardIT skipped: no prometheus on the PATH; install it with"
                    + " apt-get install -y prometheus (.ci/run does)");
        }
        assumeTrue(present, "prometheus is not installed");
        try (EmbeddedKafka kafka = EmbeddedKafka.start(tmp.resolve("kafka"), 0, Map.of())) {
            final Properties props = new Properties();
            props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
            props.put(StreamsConfig.APPLICATION_ID_CONFIG, "grafana-processor");
            props.put(StreamsConfig.STATE_DIR_CONFIG, tmp.resolve("state").toString());
            props.put(StreamformerAppConfig.HEALTH_PORT_CONFIG, "0");
            try (StreamformerApp app = StreamformerApp.start(props, new ModelRegistry())) {
                assertThat(app.awaitRunning(Duration.ofSeconds(60))).isTrue();
                final int port = freePort();
                final Process prometheus = startPrometheus(app.healthPort(), port);
                try {
                    traffic(kafka.bootstrapServers(), Duration.ofSeconds(40));
                    final Map<String, String> failures = new LinkedHashMap<>();
                    final List<String> queried = new ArrayList<>();
                    for (final JsonElement panel : JsonParser.parseString(Files.readString(DASHBOARD)).getAsJsonObject()
                            .getAsJsonArray("panels")) {
                        final String title = panel.getAsJsonObject().get("title").getAsString();
                        for (final JsonElement target : panel.getAsJsonObject().getAsJsonArray("targets")) {
                            final String expr = target.getAsJsonObject().get("expr").getAsString()
                                    .replace("$__rate_interval", "30s").replace("$job", ".*");
                            queried.add(expr);
                            final JsonArray result = query(port, expr);
                            if (result.isEmpty()) {
                                failures.put(title + ": " + expr, "no series");
                            } else if (result.asList().stream().allMatch(r -> r.getAsJsonObject().getAsJsonArray("value")
                                    .get(1).getAsString().equals("NaN"))) {
                                failures.put(title + ": " + expr, "only NaN: " + result);
                            }
                        }
                    }
                    assertThat(queried).hasSizeGreaterThanOrEqualTo(16);
                    assertThat(failures).as("panels whose query returned no data").isEmpty();

                    final JsonArray groups = get(port, "/api/v1/rules").getAsJsonObject("data").getAsJsonArray("groups");
                    final List<String> rules = new ArrayList<>();
                    for (final JsonElement g : groups) {
                        for (final JsonElement r : g.getAsJsonObject().getAsJsonArray("rules")) {
                            final JsonObject rule = r.getAsJsonObject();
                            rules.add(rule.get("name").getAsString());
                            assertThat(rule.get("health").getAsString()).as(rule.get("name").getAsString()
                                    + ": " + rule.get("lastError")).isEqualTo("ok");
                        }
                    }
                    assertThat(rules).contains("StreamformerLagGrowing", "StreamformerProcessingP99High",
                            "StreamformerDeadLetterRateHigh", "StreamformerReleaseRefused", "StreamformerNoReadyInstance",
                            "StreamformerStreamThreadDied", "streamformer:predictions:rate1m");
                    // One request in ten of the traffic is garbage: on the processor's real metrics the dead-letter
                    // alert goes pending (it fires after 5 minutes), and no other alert does.
                    final JsonArray active = get(port, "/api/v1/alerts").getAsJsonObject("data").getAsJsonArray("alerts");
                    assertThat(active.asList()).as("alerts pending or firing").extracting(a -> a.getAsJsonObject()
                            .getAsJsonObject("labels").get("alertname").getAsString())
                            .containsExactly("StreamformerDeadLetterRateHigh");
                    assertThat(active.get(0).getAsJsonObject().get("value").getAsDouble()).isBetween(0.05, 0.2);
                } finally {
                    prometheus.destroy();
                    prometheus.waitFor(20, TimeUnit.SECONDS);
                }
            }
        }
    }

    private Process startPrometheus(final int target, final int port) throws Exception {
        final Path dir = Files.createDirectories(tmp.resolve("prometheus"));
        Files.copy(ALERTS, dir.resolve("streamformer-alerts.yml"));
        Files.copy(RECORDING, dir.resolve("streamformer-rules.yml"));
        final Path config = dir.resolve("prometheus.yml");
        Files.writeString(config, """
                global:
                  scrape_interval: 1s
                  evaluation_interval: 1s
                rule_files: [streamformer-rules.yml, streamformer-alerts.yml]
                scrape_configs:
                  - job_name: streamformer
                    static_configs:
                      - targets: ["127.0.0.1:%d"]
                """.formatted(target));
        final Process p = new ProcessBuilder("prometheus", "--config.file=" + config, "--storage.tsdb.path=" + dir.resolve("data"),
                "--web.listen-address=127.0.0.1:" + port).redirectErrorStream(true)
                .redirectOutput(dir.resolve("prometheus.log").toFile()).start();
        final long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            try {
                if (get(port, "/-/ready") != null) {
                    return p;
                }
            } catch (java.io.IOException | IllegalStateException e) {
                // Not up yet.
            }
            Thread.sleep(250);
        }
        throw new IllegalStateException("Prometheus did not get ready; see " + dir.resolve("prometheus.log"));
    }

    /** Requests at about 25/s, with a bad one now and then, so that every rate and quantile has samples. */
    private static void traffic(final String bootstrap, final Duration duration) throws Exception {
        final Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer())) {
            final Instant end = Instant.now().plus(duration);
            for (int i = 0; Instant.now().isBefore(end); i++) {
                final String id = "g-" + i;
                final byte[] value = i % 10 == 9 ? "not a request".getBytes(StandardCharsets.UTF_8)
                        : StreamformerSerdes.tokenizedInput().serialize("t", Requests.of(id, new int[] {2, 1500 + i % 50, 1600, 3}));
                producer.send(new ProducerRecord<>("streamformer-requests", id, value));
                Thread.sleep(40);
            }
            producer.flush();
        }
    }

    private static JsonArray query(final int port, final String expr) throws Exception {
        final JsonObject r = get(port, "/api/v1/query?query=" + URLEncoder.encode(expr, StandardCharsets.UTF_8));
        assertThat(r.get("status").getAsString()).as(expr + ": " + r).isEqualTo("success");
        return r.getAsJsonObject("data").getAsJsonArray("result");
    }

    private static JsonObject get(final int port, final String path) throws Exception {
        final HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new IllegalStateException(path + ": HTTP " + response.statusCode() + " " + response.body());
        }
        return path.startsWith("/-/") ? new JsonObject() : JsonParser.parseString(response.body()).getAsJsonObject();
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
