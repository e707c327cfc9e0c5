package dev.streamformer.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
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
import com.google.protobuf.ByteString;
import com.sun.net.httpserver.HttpServer;

import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.trace.v1.Span;

import dev.streamformer.client.Requests;
import dev.streamformer.schemas.serde.StreamformerSerdes;
import dev.streamformer.stream.ModelRegistry;
import dev.streamformer.stream.StreamformerApp;
import dev.streamformer.stream.StreamformerConfig;
import dev.streamformer.testkit.EmbeddedKafka;

/**
 * Tracing with a real Zipkin server (its executable jar from Maven Central, started by the test on
 * loopback): a request sent with a W3C traceparent gives, in Zipkin's API, the processor's
 * {@code process streamformer-requests} span as a child of the producer's span, with the messaging
 * attributes; the inference span of its forward pass, which the process span names; and the
 * prediction, the latency event and a bad request's dead letter carry the new context.
 */
@Tag("integration")
class TracingIT {

    private static final Path ZIPKIN = Path.of("target", "zipkin", "zipkin-server-exec.jar");
    private static final String TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
    private static final String PRODUCER_SPAN = "00f067aa0ba902b7";

    @TempDir
    Path tmp;

    @Test
    @Timeout(300)
    void aRequestsTraceContinuesThroughTheProcessorIntoZipkinAndTheOutputs() throws Exception {
        assertThat(ZIPKIN).as("the build copies the Zipkin server to %s in pre-integration-test", ZIPKIN).isRegularFile();
        final int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        final Process zipkin = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-jar", ZIPKIN.toAbsolutePath().toString(), "--armeria.ports[0].ip=127.0.0.1",
                "--armeria.ports[0].port=" + port, "--armeria.ports[0].protocols[0]=http").redirectErrorStream(true)
                .redirectOutput(tmp.resolve("zipkin.log").toFile()).start();
        try (EmbeddedKafka kafka = EmbeddedKafka.start(tmp.resolve("kafka"), 0, Map.of())) {
            awaitHealthy(port);
            final Properties props = new Properties();
            props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
            props.put(StreamsConfig.APPLICATION_ID_CONFIG, "traced-processor");
            props.put(StreamsConfig.STATE_DIR_CONFIG, tmp.resolve("state").toString());
            props.put(StreamformerConfig.TRACING_EXPORTER_CONFIG, "zipkin");
            props.put(StreamformerConfig.TRACING_ENDPOINT_CONFIG, "http://127.0.0.1:" + port + "/api/v2/spans");
            try (StreamformerApp app = StreamformerApp.start(props, new ModelRegistry())) {
                assertThat(app.awaitRunning(Duration.ofSeconds(60))).isTrue();
                final Properties p = new Properties();
                p.put("bootstrap.servers", kafka.bootstrapServers());
                try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(p, new StringSerializer(),
                        new ByteArraySerializer())) {
                    final RecordHeaders good = new RecordHeaders();
                    good.add("traceparent", ("00-" + TRACE + "-" + PRODUCER_SPAN + "-01").getBytes(StandardCharsets.UTF_8));
                    producer.send(new ProducerRecord<>("streamformer-requests", null, "traced-1",
                            StreamformerSerdes.tokenizedInput().serialize("t", Requests.of("traced-1",
                                    new int[] {2, 1500, 1600, 3})), good)).get();
                    final RecordHeaders bad = new RecordHeaders();
                    bad.add("traceparent", ("00-" + TRACE.replace('4', '5') + "-" + PRODUCER_SPAN + "-01")
                            .getBytes(StandardCharsets.UTF_8));
                    producer.send(new ProducerRecord<>("streamformer-requests", null, "traced-bad",
                            "garbage".getBytes(StandardCharsets.UTF_8), bad)).get();
                }
                // The outputs carry the process span's context: the same trace, a new span id.
                final String prediction = traceparent(kafka.bootstrapServers(), "streamformer-predictions", "traced-1");
                final String latency = traceparent(kafka.bootstrapServers(), "streamformer-latency", "traced-1");
                final String dead = traceparent(kafka.bootstrapServers(), "streamformer-dead-letters", "traced-bad");
                assertThat(prediction).matches("00-" + TRACE + "-[0-9a-f]{16}-01").doesNotContain(PRODUCER_SPAN);
                assertThat(latency).isEqualTo(prediction);
                assertThat(dead).startsWith("00-" + TRACE.replace('4', '5') + "-").doesNotContain(PRODUCER_SPAN);
                final String processSpan = prediction.split("-")[2];

                final JsonObject process = awaitSpan(port, TRACE, processSpan);
                assertThat(process.get("name").getAsString()).isEqualTo("process streamformer-requests");
                assertThat(process.get("kind").getAsString()).isEqualTo("CONSUMER");
                assertThat(process.get("parentId").getAsString()).as("a child of the producer's span").isEqualTo(PRODUCER_SPAN);
                final JsonObject tags = process.getAsJsonObject("tags");
                assertThat(tags.get("messaging.system").getAsString()).isEqualTo("kafka");
                assertThat(tags.get("messaging.destination.name").getAsString()).isEqualTo("streamformer-requests");
                assertThat(tags.get("messaging.consumer.group.name").getAsString()).isEqualTo("traced-processor");
                assertThat(tags.get("messaging.kafka.message.key").getAsString()).isEqualTo("traced-1");
                assertThat(tags.has("messaging.destination.partition.id")).isTrue();
                assertThat(tags.has("messaging.kafka.offset")).isTrue();
                assertThat(tags.get("streamformer.label").getAsString()).isIn("ham", "spam");
                assertThat(process.getAsJsonObject("localEndpoint").get("serviceName").getAsString())
                        .isEqualTo("traced-processor");

                // The forward pass: its own trace, linked to its requests (Zipkin keeps no links: the process span names it).
                final String[] inference = tags.get("streamformer.inference.span").getAsString().split("-");
                final JsonObject pass = awaitSpan(port, inference[0], inference[1]);
                assertThat(pass.get("name").getAsString()).isEqualTo("inference streamformer-default");
                assertThat(pass.getAsJsonObject("tags").get("streamformer.batch.size").getAsString()).isNotBlank();

                final JsonObject failed = awaitSpan(port, TRACE.replace('4', '5'), dead.split("-")[2]);
                assertThat(failed.getAsJsonObject("tags").get("error.type").getAsString()).isEqualTo("DESERIALIZATION");
                assertThat(failed.getAsJsonObject("tags").has("error")).as("the span's status is ERROR").isTrue();
            }
        } finally {
            zipkin.destroy();
            zipkin.waitFor(20, TimeUnit.SECONDS);
        }
    }

    /**
     * The OTLP exporter: its POSTs to /v1/traces, taken by an HTTP endpoint of the test on loopback and
     * decoded with the official OTLP definitions, carry the process span as the producer span's child
     * and the inference span with a link to it (OTLP keeps links, Zipkin does not).
     */
    @Test
    @Timeout(300)
    void theOtlpExporterSendsTheSameSpansWithTheInferenceSpansLinks() throws Exception {
        final BlockingQueue<byte[]> posts = new LinkedBlockingQueue<>();
        final HttpServer otlp = HttpServer.create(
                new InetSocketAddress("127.0.0.1", 0), 0);
        otlp.createContext("/v1/traces", x -> {
            posts.add(x.getRequestBody().readAllBytes());
            x.sendResponseHeaders(200, -1);
            x.close();
        });
        otlp.start();
        try (EmbeddedKafka kafka = EmbeddedKafka.start(tmp.resolve("kafka"), 0, Map.of())) {
            final Properties props = new Properties();
            props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
            props.put(StreamsConfig.APPLICATION_ID_CONFIG, "otlp-processor");
            props.put(StreamsConfig.STATE_DIR_CONFIG, tmp.resolve("state").toString());
            props.put(StreamformerConfig.TRACING_EXPORTER_CONFIG, "otlp");
            props.put(StreamformerConfig.TRACING_ENDPOINT_CONFIG, "http://127.0.0.1:" + otlp.getAddress().getPort()
                    + "/v1/traces");
            try (StreamformerApp app = StreamformerApp.start(props, new ModelRegistry())) {
                assertThat(app.awaitRunning(Duration.ofSeconds(60))).isTrue();
                final Properties p = new Properties();
                p.put("bootstrap.servers", kafka.bootstrapServers());
                final String trace = TRACE.replace('4', '7');
                try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(p, new StringSerializer(),
                        new ByteArraySerializer())) {
                    final RecordHeaders headers = new RecordHeaders();
                    headers.add("traceparent", ("00-" + trace + "-" + PRODUCER_SPAN + "-01").getBytes(StandardCharsets.UTF_8));
                    producer.send(new ProducerRecord<>("streamformer-requests", null, "otlp-1",
                            StreamformerSerdes.tokenizedInput().serialize("t", Requests.of("otlp-1",
                                    new int[] {2, 1500, 1600, 3})), headers)).get();
                }
                final String processSpan = traceparent(kafka.bootstrapServers(), "streamformer-predictions", "otlp-1")
                        .split("-")[2];
                Span process = null;
                Span inference = null;
                final long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                while ((process == null || inference == null) && System.nanoTime() < deadline) {
                    final byte[] body = posts.poll(1, TimeUnit.SECONDS);
                    if (body == null) {
                        continue;
                    }
                    for (final var resource : ExportTraceServiceRequest
                            .parseFrom(body).getResourceSpansList()) {
                        for (final var scope : resource.getScopeSpansList()) {
                            for (final var span : scope.getSpansList()) {
                                if (hex(span.getSpanId()).equals(processSpan)) {
                                    process = span;
                                } else if (span.getName().startsWith("inference ") && span.getLinksList().stream()
                                        .anyMatch(l -> hex(l.getSpanId()).equals(processSpan))) {
                                    inference = span;
                                }
                            }
                        }
                    }
                }
                assertThat(process).as("the process span, exported over OTLP").isNotNull();
                assertThat(hex(process.getTraceId())).isEqualTo(trace);
                assertThat(hex(process.getParentSpanId())).isEqualTo(PRODUCER_SPAN);
                assertThat(process.getKind()).isEqualTo(Span.SpanKind.SPAN_KIND_CONSUMER);
                assertThat(process.getAttributesList()).anyMatch(a -> a.getKey().equals("messaging.system")
                        && a.getValue().getStringValue().equals("kafka"));
                assertThat(inference).as("an inference span linked to the process span").isNotNull();
                assertThat(inference.getName()).isEqualTo("inference streamformer-default");
            }
        } finally {
            otlp.stop(0);
        }
    }

    private static String hex(final ByteString bytes) {
        return HexFormat.of().formatHex(bytes.toByteArray());
    }

    private static String traceparent(final String bootstrap, final String topic, final String key) {
        final List<ConsumerRecord<String, byte[]>> records = TopicReader.readUntil(bootstrap, topic, new StringDeserializer(),
                new ByteArrayDeserializer(), r -> key.equals(r.key()), 1, Duration.ofSeconds(60));
        final ConsumerRecord<String, byte[]> r = records.stream().filter(x -> key.equals(x.key())).findFirst().orElseThrow();
        return new String(r.headers().lastHeader("traceparent").value(), StandardCharsets.UTF_8);
    }

    /** Polls Zipkin's API until the trace has the span (spans are exported every 500 ms). */
    private static JsonObject awaitSpan(final int port, final String trace, final String span) throws Exception {
        final long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        List<String> seen = new ArrayList<>();
        while (System.nanoTime() < deadline) {
            final HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
                    "http://127.0.0.1:" + port + "/api/v2/trace/" + trace)).build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() == 200) {
                final JsonArray spans = JsonParser.parseString(r.body()).getAsJsonArray();
                seen = new ArrayList<>();
                for (final JsonElement e : spans) {
                    seen.add(e.getAsJsonObject().get("id").getAsString() + " " + e.getAsJsonObject().get("name").getAsString());
                    if (e.getAsJsonObject().get("id").getAsString().equals(span)) {
                        return e.getAsJsonObject();
                    }
                }
            }
            Thread.sleep(500);
        }
        throw new AssertionError("Zipkin has no span " + span + " in trace " + trace + "; it has " + seen);
    }

    private static void awaitHealthy(final int port) throws Exception {
        final long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (System.nanoTime() < deadline) {
            try {
                if (HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health"))
                        .build(), HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return;
                }
            } catch (java.io.IOException e) {
                // Not listening yet.
            }
            Thread.sleep(500);
        }
        throw new IllegalStateException("Zipkin did not answer on port " + port + " within 90 s");
    }
}
