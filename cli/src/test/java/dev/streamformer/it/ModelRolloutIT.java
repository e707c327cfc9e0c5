package dev.streamformer.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

import dev.streamformer.TinyModel;
import dev.streamformer.client.RequestProducer;
import dev.streamformer.client.Requests;
import dev.streamformer.model.ModelDirectory;
import dev.streamformer.release.ModelReleases;
import dev.streamformer.schemas.LatencyEvent;
import dev.streamformer.schemas.ModelRelease;
import dev.streamformer.schemas.Prediction;
import dev.streamformer.schemas.serde.StreamformerSerdes;
import dev.streamformer.stream.ModelRegistry;
import dev.streamformer.stream.StreamformerApp;
import dev.streamformer.stream.StreamformerAppConfig;
import dev.streamformer.stream.StreamformerConfig;
import dev.streamformer.testkit.ChildProcess;
import dev.streamformer.testkit.EmbeddedKafka;

/**
 * New model versions reach running processors through the models topic, on a real broker: a
 * version published half-way through a stream, with the processor (a child process) killed during
 * the switch; a refused version; canary, shadow, promote and rollback with the publisher's own code.
 */
@Tag("integration")
class ModelRolloutIT {

    private static final int REQUESTS = 1_200;

    /** Kept when a test fails, with the child processes' logs (java.io.tmpdir is under target/ in the build). */
    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    static Path tmp;

    private static EmbeddedKafka kafka;
    private static Path v1;
    private static Path v2;

    @BeforeAll
    static void start() throws Exception {
        kafka = EmbeddedKafka.start(tmp.resolve("kafka"), 0, Map.of("transaction.max.timeout.ms", "900000"));
        v1 = TinyModel.save(tmp.resolve("tiny"));
        Files.writeString(v1.resolve(ModelDirectory.VOCAB), "[PAD]\n[UNK]\n[CLS]\n[SEP]\nmail\n");
        v2 = TinyModel.save(tmp.resolve("tiny-v2"), 6);
        Files.copy(v1.resolve(ModelDirectory.VOCAB), v2.resolve(ModelDirectory.VOCAB));
    }

    @AfterAll
    static void stop() {
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    @Timeout(600)
    void aVersionPublishedMidStreamServesEveryPartitionAfterOneSwitchThroughAKill() throws Exception {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic("rollout-requests", 4, (short) 1))).all().get();
        }
        final AtomicInteger produced = new AtomicInteger();
        final ChildProcess first = processor();
        first.start();
        first.await("-> RUNNING", 1, Duration.ofSeconds(120));
        // Half the requests before the release (about 60 per second over the four partitions) ...
        PacedRequests.start(kafka.bootstrapServers(), "rollout-requests", "rollout-a-", REQUESTS / 2, 6, produced)
                .join();
        // The publisher as users run it, in its own JVM.
        final ChildProcess publish = new ChildProcess("publish", List.of(), List.of("model", "publish", "--model",
                v2.toString(), "--name", "tiny", "-b", kafka.bootstrapServers(),
                "-p", "streamformer.topic.models=rollout-models"), tmp.resolve("publish.log")).start();
        assertThat(publish.awaitExit(Duration.ofSeconds(120))).as("model publish exit code").isZero();
        final String newVersion = ModelDirectory.version(v2);
        first.await("Model tiny now serves " + newVersion, 1, Duration.ofSeconds(60));
        // ... and half after the switch, however long the publisher took: every partition has requests on
        // both sides of it. Killed while those arrive: batches in open transactions, a buffer.
        final Thread producer = PacedRequests.start(kafka.bootstrapServers(), "rollout-requests", "rollout-b-",
                REQUESTS / 2, 6, produced);
        while (produced.get() < REQUESTS / 2 + 60) {
            Thread.sleep(20);
        }
        first.kill();
        final ChildProcess second = processor();
        second.start();
        producer.join();
        try {
            final List<ConsumerRecord<String, LatencyEvent>> events = TopicReader.readAll(kafka.bootstrapServers(),
                    "rollout-latency", new StringDeserializer(), StreamformerSerdes.latencyEvent().deserializer(),
                    REQUESTS, Duration.ofSeconds(240));
            final List<ConsumerRecord<String, Prediction>> predictions = TopicReader.readAll(kafka.bootstrapServers(),
                    "rollout-predictions", new StringDeserializer(), StreamformerSerdes.prediction(), REQUESTS,
                    Duration.ofSeconds(60));
            final Map<String, Integer> counts = new HashMap<>();
            predictions.forEach(r -> counts.merge(r.key(), 1, Integer::sum));
            assertThat(counts).as("request ids predicted").hasSize(REQUESTS);
            assertThat(counts.values()).as("predictions per request id").containsOnly(1);
            assertThat(events).hasSize(REQUESTS);
            final String oldVersion = ModelDirectory.version(v1);
            // On every request partition, in offset order: the old version, then the new one, once.
            final Map<Integer, List<LatencyEvent>> byPartition = new TreeMap<>();
            events.forEach(r -> byPartition.computeIfAbsent(r.value().getSourcePartition(), k -> new ArrayList<>())
                    .add(r.value()));
            final Map<Integer, String> sequences = new TreeMap<>();
            byPartition.forEach((partition, list) -> {
                list.sort(Comparator.comparingLong(LatencyEvent::getSourceOffset));
                final StringBuilder runs = new StringBuilder();
                String last = null;
                for (final LatencyEvent e : list) {
                    if (!e.getModelVersion().equals(last)) {
                        last = e.getModelVersion();
                        runs.append(runs.length() == 0 ? "" : " -> ").append(last).append(" from offset ")
                                .append(e.getSourceOffset());
                    }
                }
                sequences.put(partition, runs.toString());
            });
            System.out.println("rollout: versions by request partition " + sequences);
            assertThat(byPartition).hasSize(4);
            byPartition.forEach((partition, list) -> {
                final List<String> runs = new ArrayList<>();
                list.forEach(e -> {
                    if (runs.isEmpty() || !runs.get(runs.size() - 1).equals(e.getModelVersion())) {
                        runs.add(e.getModelVersion());
                    }
                });
                assertThat(runs).as("versions on partition %d, in offset order: one switch, never back (the child"
                        + " processes' logs: %s)", partition, tmp).containsExactly(oldVersion, newVersion);
            });
            assertThat(predictions).extracting(r -> r.value().getModelName()).containsOnly("tiny");
        } finally {
            second.stop(Duration.ofSeconds(60));
        }
    }

    private static ChildProcess processor() {
        return new ChildProcess("processor", List.of(), List.of("run", "-b", kafka.bootstrapServers(), "--model",
                v1.toString(), "--stream-threads", "2", "--application-id", "rollout",
                "--requests-topic", "rollout-requests", "--predictions-topic", "rollout-predictions",
                "--latency-topic", "rollout-latency", "--dead-letter-topic", "rollout-dead-letters",
                "-p", "streamformer.topic.models=rollout-models",
                "-p", "streamformer.models.cache.dir=" + tmp.resolve("cache"),
                "-p", "streamformer.batch.size=4",
                "-p", "streamformer.batch.max.wait.ms=200",
                "-p", "state.dir=" + tmp.resolve("state"),
                "-p", "producer.transaction.timeout.ms=10000",
                "-p", "consumer.session.timeout.ms=6000"), tmp.resolve("processor.log"));
    }

    private static Properties inProcess(final String name) {
        final Properties props = new Properties();
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, name);
        props.put(StreamsConfig.STATE_DIR_CONFIG, tmp.resolve("state-" + name).toString());
        props.put(StreamformerConfig.MODEL_DIR_CONFIG, v1.toString());
        props.put(StreamformerAppConfig.TOPIC_REQUESTS_CONFIG, name + "-requests");
        props.put(StreamformerAppConfig.TOPIC_PREDICTIONS_CONFIG, name + "-predictions");
        props.put(StreamformerAppConfig.TOPIC_LATENCY_CONFIG, name + "-latency");
        props.put(StreamformerAppConfig.TOPIC_DEAD_LETTERS_CONFIG, name + "-dead-letters");
        props.put(StreamformerAppConfig.TOPIC_SHADOW_CONFIG, name + "-shadow");
        props.put(StreamformerConfig.TOPIC_MODELS_CONFIG, name + "-models");
        props.put(StreamformerConfig.MODELS_CACHE_DIR_CONFIG, tmp.resolve("cache-" + name).toString());
        props.put(StreamformerConfig.BATCH_SIZE_CONFIG, "1");
        return props;
    }

    private static Properties client() {
        final Properties client = new Properties();
        client.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        return client;
    }

    private static void awaitGeneration(final StreamformerApp app, final long atLeast) throws InterruptedException {
        final long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (app.catalog().route("tiny").generation() < atLeast) {
            assertThat(System.nanoTime()).as("release at offset %d applied within 60 s", atLeast).isLessThan(deadline);
            Thread.sleep(50);
        }
    }

    /** Sends requests and returns the version that served each, by request id. */
    private static Map<String, String> serve(final String name, final String prefix, final int n) throws Exception {
        RequestProducer.produce(client(), name + "-requests", IntStream.range(0, n)
                .mapToObj(i -> Requests.of(prefix + i, new int[] {2, 10 + i % 300, 3})).iterator(), 0);
        final Map<String, String> served = new HashMap<>();
        TopicReader.readAll(kafka.bootstrapServers(), name + "-predictions", new StringDeserializer(),
                StreamformerSerdes.prediction(), 0, Duration.ofSeconds(5)).stream()
                .filter(r -> r.key().startsWith(prefix)).forEach(r -> served.put(r.key(), r.value().getModelVersion()));
        final long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (served.size() < n && System.nanoTime() < deadline) {
            TopicReader.readAll(kafka.bootstrapServers(), name + "-predictions", new StringDeserializer(),
                    StreamformerSerdes.prediction(), n, Duration.ofSeconds(10)).stream()
                    .filter(r -> r.key().startsWith(prefix)).forEach(r -> served.put(r.key(), r.value().getModelVersion()));
        }
        assertThat(served).as("predictions of %s*", prefix).hasSize(n);
        return served;
    }

    @Test
    @Timeout(300)
    void aRefusedVersionLeavesTheServedOneAndIsCountedInTheMetrics() throws Exception {
        final String name = "refuse";
        final Path otherVocabulary = TinyModel.save(tmp.resolve("tiny-vocab"), 7);
        Files.writeString(otherVocabulary.resolve(ModelDirectory.VOCAB), "[PAD]\n[UNK]\n[CLS]\n[SEP]\nweather\n");
        final Properties props = inProcess(name);
        props.put(StreamformerAppConfig.HEALTH_PORT_CONFIG, "0");
        props.put(StreamformerAppConfig.HEALTH_BIND_CONFIG, "127.0.0.1");
        // The processor serves tiny (its directory's name); the release under that name has another vocabulary.
        try (StreamformerApp app = StreamformerApp.start(props, new ModelRegistry())) {
            assertThat(app.awaitRunning(Duration.ofSeconds(60))).isTrue();
            ModelReleases.publish(client(), name + "-models", otherVocabulary, "tiny", ModelReleases.Rollout.REPLACE, 0,
                    null, 64 << 20);
            final long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            String metrics = "";
            while (!metrics.contains("streamformer_model_refusals_total{model=\"tiny\"} 1.0")
                    && System.nanoTime() < deadline) {
                Thread.sleep(200);
                metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                        + app.healthPort() + "/metrics")).build(), BodyHandlers.ofString()).body();
            }
            assertThat(metrics).contains("streamformer_model_refusals_total{model=\"tiny\"} 1.0");
            dev.streamformer.Promtool.assertAccepts(metrics);
            assertThat(serve(name, "after-refusal-", 20).values()).containsOnly(ModelDirectory.version(v1));
        }
    }

    @Test
    @Timeout(400)
    void canaryShadowPromoteAndRollbackThroughTheModelsTopic() throws Exception {
        final String name = "trial";
        final String old = ModelDirectory.version(v1);
        final String next = ModelDirectory.version(v2);
        final String topic = name + "-models";
        final Properties props = inProcess(name);
        ModelReleases.publish(client(), topic, v1, "tiny", ModelReleases.Rollout.REPLACE, 0, null, 64 << 20);
        try (StreamformerApp app = StreamformerApp.start(props, new ModelRegistry())) {
            assertThat(app.awaitRunning(Duration.ofSeconds(60))).isTrue();
            // Canary at 30 %: by request id, within 4 standard deviations of Binomial(400, 0.3) (sd 9.2).
            ModelReleases.publish(client(), topic, v2, "tiny", ModelReleases.Rollout.CANARY, 30, null, 64 << 20);
            awaitGeneration(app, 1);
            final Map<String, String> canary = serve(name, "canary-", 400);
            final long onCandidate = canary.values().stream().filter(next::equals).count();
            System.out.printf("canary: %d of 400 requests on the candidate (setting 30 %%)%n", onCandidate);
            assertThat(onCandidate).isBetween(120L - 37, 120L + 37);
            // Roll back: every request on the stable version again.
            ModelReleases.finish(client(), topic, "tiny", false);
            awaitGeneration(app, 2);
            assertThat(serve(name, "rolled-back-", 50).values()).containsOnly(old);
            // Shadow: served by the stable version; the candidate's predictions only in the shadow topic.
            ModelReleases.publish(client(), topic, v2, "tiny", ModelReleases.Rollout.SHADOW, 0, null, 64 << 20);
            awaitGeneration(app, 3);
            assertThat(serve(name, "shadow-", 50).values()).containsOnly(old);
            final List<ConsumerRecord<String, Prediction>> shadow = TopicReader.readAll(kafka.bootstrapServers(),
                    name + "-shadow", new StringDeserializer(), StreamformerSerdes.prediction(), 50, Duration.ofSeconds(60));
            assertThat(shadow).hasSize(50).allSatisfy(r -> assertThat(r.value().getModelVersion()).isEqualTo(next));
            // Promote: the candidate serves everything.
            ModelReleases.finish(client(), topic, "tiny", true);
            awaitGeneration(app, 4);
            assertThat(serve(name, "promoted-", 50).values()).containsOnly(next);
        }
        // A release every instance refuses (another vocabulary), written without the publisher's checks as an
        // older publisher would, becomes the latest record ...
        final Path otherVocabulary = TinyModel.save(tmp.resolve("tiny-trial-vocab"), 8);
        Files.writeString(otherVocabulary.resolve(ModelDirectory.VOCAB), "[PAD]\n[UNK]\n[CLS]\n[SEP]\nsnow\n");
        ModelReleases.announce(client(), topic, ModelRelease.newBuilder().setName("tiny")
                .setStable(ModelReleases.artifact(otherVocabulary, null)).setPublishedAt(java.time.Instant.now()).build());
        // ... and a restarted instance serves the latest accepted one, the promoted version, at once.
        try (StreamformerApp app = StreamformerApp.start(props, new ModelRegistry())) {
            assertThat(app.catalog().route("tiny").stable().model().version()).isEqualTo(next);
            assertThat(app.awaitRunning(Duration.ofSeconds(60))).isTrue();
        }
    }
}
