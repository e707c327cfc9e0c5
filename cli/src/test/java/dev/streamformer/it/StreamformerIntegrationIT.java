package dev.streamformer.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import dev.streamformer.client.RequestProducer;
import dev.streamformer.client.Requests;
import dev.streamformer.corpus.DemoSample;
import dev.streamformer.model.InferenceEngine;
import dev.streamformer.schemas.LatencyEvent;
import dev.streamformer.schemas.TokenizedInput;
import dev.streamformer.schemas.serde.StreamformerSerdes;
import dev.streamformer.stream.ModelRegistry;
import dev.streamformer.stream.StreamformerApp;
import dev.streamformer.stream.StreamformerAppConfig;
import dev.streamformer.stream.StreamformerConfig;
import dev.streamformer.testkit.EmbeddedKafka;

/** The processor against a real in-process KRaft broker, exactly_once_v2, 4 stream threads. */
@Tag("integration")
class StreamformerIntegrationIT {

    @TempDir
    static Path tmp;

    private static EmbeddedKafka kafka;

    @BeforeAll
    static void startBroker() throws Exception {
        kafka = EmbeddedKafka.start(tmp.resolve("kafka"), 0, Map.of());
    }

    @AfterAll
    static void stopBroker() {
        if (kafka != null) {
            kafka.close();
        }
    }

    @ParameterizedTest(name = "on {0}")
    @EnumSource(InferenceEngine.class)
    @Timeout(300)
    void predictsEveryValidRequestOnceAndDeadLettersEveryBadOne(final InferenceEngine engine) throws Exception {
        new ExactlyOnceFlow(kafka.bootstrapServers(), tmp, engine).run();
    }

    @Test
    @Timeout(120)
    void healthEndpointIsReadyOnlyWhileRunningAndStopsWithTheProcessor() throws Exception {
        final Properties props = processor("health");
        props.put(StreamformerAppConfig.HEALTH_PORT_CONFIG, "0");
        props.put(StreamformerAppConfig.HEALTH_BIND_CONFIG, "127.0.0.1");
        final HttpClient http = HttpClient.newHttpClient();
        final URI ready;
        final URI live;
        try (StreamformerApp app = StreamformerApp.start(props, new ModelRegistry())) {
            assertThat(app.healthPort()).isPositive();
            ready = URI.create("http://127.0.0.1:" + app.healthPort() + "/health/ready");
            live = URI.create("http://127.0.0.1:" + app.healthPort() + "/health/live");
            assertThat(app.awaitRunning(Duration.ofSeconds(60))).isTrue();
            final HttpResponse<String> r = http.send(HttpRequest.newBuilder(ready).build(), BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).contains("\"state\":\"RUNNING\"").contains("streamformer-default");
            assertThat(http.send(HttpRequest.newBuilder(live).build(), BodyHandlers.ofString()).statusCode())
                    .isEqualTo(200);
        }
        assertThatThrownBy(() -> http.send(HttpRequest.newBuilder(ready).build(), BodyHandlers.ofString()))
                .as("the endpoint stops with the processor").isInstanceOf(java.io.IOException.class);
    }

    @Test
    @Timeout(180)
    void metricsEndpointServesTheProcessorsKafkaStreamsAndJvmMetricsForPrometheus() throws Exception {
        final Properties props = processor("metrics");
        props.put(StreamformerAppConfig.HEALTH_PORT_CONFIG, "0");
        props.put(StreamformerAppConfig.HEALTH_BIND_CONFIG, "127.0.0.1");
        final int requests = 40;
        try (StreamformerApp app = StreamformerApp.start(props, new ModelRegistry())) {
            assertThat(app.awaitRunning(Duration.ofSeconds(60))).isTrue();
            final Properties client = new Properties();
            client.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
            RequestProducer.produce(client, "metrics-requests", IntStream.range(0, requests)
                    .mapToObj(i -> Requests.of("m-" + i, new int[] {2, 1500 + i, 1600, 3})).iterator(), 0);
            RequestProducer.produce(client, "metrics-requests",
                    List.of(Requests.of("m-bad", new int[] {2, 99_999, 3})).iterator(), 0);
            TopicReader.readAll(kafka.bootstrapServers(), "metrics-predictions", new StringDeserializer(),
                    StreamformerSerdes.prediction(), requests, Duration.ofSeconds(90));
            final String text = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + app.healthPort() + "/metrics")).build(), BodyHandlers.ofString())
                    .body();
            assertThat(text).contains("streamformer_predictions_total{engine=\"onnxruntime\",model=\"streamformer-default\"")
                    .containsPattern("streamformer_predictions_total\\{[^}]*\\} " + requests + ".0")
                    .containsPattern("streamformer_dead_letters_total\\{[^}]*kind=\"VALIDATION\"[^}]*\\} 1.0")
                    .containsPattern("streamformer_inference_seconds_count\\{[^}]*\\} " + requests + "(\\.0)?\n")
                    .contains("streamformer_model_sharing_ratio{")
                    .contains("kafka_stream_thread_process_rate")
                    .contains("kafka_consumer_fetch_manager_records_lag")
                    .contains("jvm_memory_used_bytes");
            System.out.println("Kafka Streams metrics exported: " + java.util.regex.Pattern.compile("(?m)^kafka_stream_[a-z_]+")
                    .matcher(text).results().map(java.util.regex.MatchResult::group).distinct().sorted().toList());
            dev.streamformer.Promtool.assertAccepts(text);
        }
    }

    @Test
    @Timeout(180)
    void forwardPassesOfAllStreamThreadsRunAtMostTheConfiguredNumberAtOnce() throws Exception {
        final Properties props = processor("gate");
        props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, "4");
        props.put(StreamformerConfig.BATCH_SIZE_CONFIG, "4");
        props.put(StreamformerConfig.FORWARD_CONCURRENCY_CONFIG, "1");
        final int requests = 400;
        final SplittableRandom random = new SplittableRandom(3);
        final Iterator<TokenizedInput> inputs = IntStream.range(0, requests).mapToObj(i -> TokenizedInput.newBuilder()
                .setRequestId("gate-" + i).setTokenIds(random.ints(64, 5, 8000).boxed().toList())
                .setCreatedAt(Instant.now()).build()).iterator();
        final List<ConsumerRecord<String, LatencyEvent>> events;
        try (StreamformerApp app = StreamformerApp.start(props, new ModelRegistry())) {
            assertThat(app.awaitRunning(Duration.ofSeconds(60))).isTrue();
            final Properties client = new Properties();
            client.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
            RequestProducer.produce(client, "gate-requests", inputs, 0);
            events = TopicReader.readAll(kafka.bootstrapServers(), "gate-latency", new StringDeserializer(),
                    StreamformerSerdes.latencyEvent().deserializer(), requests, Duration.ofSeconds(120));
        }
        assertThat(events).hasSize(requests);
        // One interval per forward pass: every request of a batch carries the pass's start, and its end is when
        // the request left (early exit: the shipped model has exit heads); the pass ends when its last request left.
        final List<long[]> passes = events.stream().map(ConsumerRecord::value)
                .collect(java.util.stream.Collectors.toMap(e -> List.of(e.getStreamThread(), e.getInferenceStartUs()),
                        e -> e.getInferenceEndUs(), Math::max))
                .entrySet().stream().map(k -> new long[] {(Long) k.getKey().get(1), k.getValue()})
                .sorted(Comparator.comparingLong(p -> p[0])).toList();
        assertThat(events.stream().map(r -> r.value().getStreamThread()).distinct().count())
                .as("stream threads that ran forward passes").isGreaterThan(1);
        for (int i = 1; i < passes.size(); i++) {
            assertThat(passes.get(i)[0]).as("start of forward pass %d of %d", i, passes.size())
                    .isGreaterThanOrEqualTo(passes.get(i - 1)[1]);
        }
    }

    /** {@code produce --wait}: each request's prediction printed beside its input, tokenized here or by the processor. */
    @ParameterizedTest(name = "as text: {0}")
    @ValueSource(booleans = {false, true})
    @Timeout(180)
    void produceWaitPrintsEachRequestsPredictionBesideItsInput(final boolean asText) throws Exception {
        // As text, the processor tokenizes (TokenizedInput version 2); otherwise produce does.
        final String name = asText ? "wait-text" : "wait";
        final Properties props = processor(name);
        final List<DemoSample.Item> sample = DemoSample.bundled().subList(0, 2);
        try (StreamformerApp app = StreamformerApp.start(props, new ModelRegistry())) {
            assertThat(app.awaitRunning(Duration.ofSeconds(60))).isTrue();
            final String stdin = sample.get(0).text() + "\n" + sample.get(1).text() + "\n";
            final java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            final java.io.PrintStream stdout = System.out;
            final java.io.InputStream in = System.in;
            final int code;
            try {
                System.setOut(new java.io.PrintStream(out, true, java.nio.charset.StandardCharsets.UTF_8));
                System.setIn(new java.io.ByteArrayInputStream(stdin.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
                final List<String> args = new java.util.ArrayList<>(List.of("produce", "-b", kafka.bootstrapServers(),
                        "--wait", "--wait-timeout", "90", "--id-prefix", "wait-",
                        "-p", StreamformerAppConfig.TOPIC_REQUESTS_CONFIG + "=" + name + "-requests",
                        "-p", StreamformerAppConfig.TOPIC_PREDICTIONS_CONFIG + "=" + name + "-predictions"));
                if (asText) {
                    args.add("--as-text");
                }
                code = dev.streamformer.cli.StreamformerCli.execute(args.toArray(String[]::new));
            } finally {
                System.setOut(stdout);
                System.setIn(in);
            }
            assertThat(code).isZero();
            final List<String> lines = List.of(out.toString(java.nio.charset.StandardCharsets.UTF_8).strip().split("\n"));
            assertThat(lines).hasSize(2);
            for (int i = 0; i < 2; i++) {
                final String id = "wait-" + i;
                final String line = lines.stream().filter(l -> l.startsWith(id + " ")).findFirst().orElseThrow();
                assertThat(line).contains(" " + sample.get(i).label() + " ")
                        .contains(sample.get(i).text().substring(0, 20));
            }
        }
    }

    /** A processor of its own: application id {@code <name>-it}, topics {@code <name>-*}, its own state. */
    private static Properties processor(final String name) {
        final Properties props = new Properties();
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, name + "-it");
        props.put(StreamsConfig.STATE_DIR_CONFIG, tmp.resolve(name + "-state").toString());
        props.put(StreamformerAppConfig.TOPIC_REQUESTS_CONFIG, name + "-requests");
        props.put(StreamformerAppConfig.TOPIC_PREDICTIONS_CONFIG, name + "-predictions");
        props.put(StreamformerAppConfig.TOPIC_LATENCY_CONFIG, name + "-latency");
        props.put(StreamformerAppConfig.TOPIC_DEAD_LETTERS_CONFIG, name + "-dead-letters");
        return props;
    }
}
