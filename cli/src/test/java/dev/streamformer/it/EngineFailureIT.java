package dev.streamformer.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import dev.streamformer.TinyModel;
import dev.streamformer.client.RequestProducer;
import dev.streamformer.model.EncoderBatch;
import dev.streamformer.model.EngineSettings;
import dev.streamformer.model.DelegatingForwardPass;
import dev.streamformer.model.InferenceModel;
import dev.streamformer.schemas.LatencyEvent;
import dev.streamformer.schemas.Prediction;
import dev.streamformer.schemas.TokenizedInput;
import dev.streamformer.schemas.serde.StreamformerSerdes;
import dev.streamformer.stream.ModelRegistry;
import dev.streamformer.stream.StreamformerApp;
import dev.streamformer.stream.StreamformerAppConfig;
import dev.streamformer.stream.StreamformerConfig;
import dev.streamformer.testkit.EmbeddedKafka;

/**
 * An engine that fails every request for a while, under exactly_once_v2 on a real broker: the
 * stream thread fails instead of dead-lettering the requests, a new thread takes its tasks and
 * retries them from the last commit (after the group's session timeout, 45 s by default, since a
 * Kafka Streams consumer does not leave its group on close), and every request is predicted
 * exactly once.
 */
@Tag("integration")
class EngineFailureIT {

    private static final int REQUESTS = 200;
    /** Passes the engine fails: a pass and its probe, which fail the stream thread. */
    private static final int FAILED_PASSES = 2;

    @TempDir
    Path tmp;

    @Test
    @Timeout(300)
    void anEngineFailureStopsTheThreadAndIsRetriedWithNothingLostOrDuplicated() throws Exception {
        final Path modelDir = TinyModel.save(tmp.resolve("model"));
        final AtomicInteger passes = new AtomicInteger();
        final Set<String> failedOn = ConcurrentHashMap.newKeySet();
        final AtomicLong lastFailureUs = new AtomicLong();
        final ModelRegistry failing = new ModelRegistry() {
            @Override
            protected InferenceModel load(final String dir, final EngineSettings engine) throws IOException {
                return super.load(dir, engine).wrapped(real -> new DelegatingForwardPass(real) {
                    @Override
                    public float[] logits(final EncoderBatch batch) {
                        if (passes.incrementAndGet() <= FAILED_PASSES) {
                            failedOn.add(Thread.currentThread().getName());
                            lastFailureUs.set(ChronoUnit.MICROS.between(Instant.EPOCH, Instant.now()));
                            throw new IllegalStateException("injected: the engine's native session is gone");
                        }
                        return delegate.logits(batch);
                    }
                });
            }
        };
        try (EmbeddedKafka kafka = EmbeddedKafka.start(tmp.resolve("kafka"), 0, Map.of())) {
            final String bootstrap = kafka.bootstrapServers();
            try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
                admin.createTopics(List.of(new NewTopic("ef-requests", 2, (short) 1))).all().get();
            }
            final Properties props = new Properties();
            props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            props.put(StreamsConfig.APPLICATION_ID_CONFIG, "ef-processor");
            // One stream thread, so the failures come in order: a pass, its probe, the thread replaced.
            props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, "1");
            props.put(StreamsConfig.STATE_DIR_CONFIG, tmp.resolve("state").toString());
            props.put(StreamformerConfig.MODEL_DIR_CONFIG, modelDir.toString());
            props.put(StreamformerAppConfig.TOPIC_REQUESTS_CONFIG, "ef-requests");
            props.put(StreamformerAppConfig.TOPIC_PREDICTIONS_CONFIG, "ef-predictions");
            props.put(StreamformerAppConfig.TOPIC_LATENCY_CONFIG, "ef-latency");
            props.put(StreamformerAppConfig.TOPIC_DEAD_LETTERS_CONFIG, "ef-dead-letters");
            final List<String> ids = IntStream.range(0, REQUESTS).mapToObj(i -> "ef-" + i).toList();
            final List<ConsumerRecord<String, Prediction>> predictions;
            final List<ConsumerRecord<String, LatencyEvent>> latency;
            try (StreamformerApp app = StreamformerApp.start(props, failing)) {
                final Properties client = new Properties();
                client.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
                RequestProducer.produce(client, "ef-requests", ids.stream().map(id -> TokenizedInput.newBuilder()
                        .setRequestId(id).setTokenIds(List.of(2, 10 + id.length(), 40, 3))
                        .setCreatedAt(Instant.now()).build()).iterator(), 0);
                predictions = TopicReader.readAll(bootstrap, "ef-predictions", new StringDeserializer(),
                        StreamformerSerdes.prediction(), REQUESTS, Duration.ofSeconds(180));
                latency = TopicReader.readAll(bootstrap, "ef-latency", new StringDeserializer(),
                        StreamformerSerdes.latencyEvent(), REQUESTS, Duration.ofSeconds(60));
                assertThat(app.state()).as("the processor recovers by itself").isEqualTo(KafkaStreams.State.RUNNING);
            }
            final List<String> predicted = new ArrayList<>();
            predictions.forEach(r -> predicted.add(r.value().getRequestId()));
            assertThat(passes.get()).as("passes run, the failed ones included").isGreaterThan(FAILED_PASSES);
            assertThat(predicted).as("every request predicted exactly once").hasSize(REQUESTS)
                    .containsExactlyInAnyOrderElementsOf(ids);
            assertThat(latency).hasSize(REQUESTS);
            assertThat(failedOn).as("the stream thread that met the failed engine").hasSize(1);
            // Kafka Streams reuses thread names for replacements, so time, not name, tells them apart.
            assertThat(latency).as("every request served after the failure, by the replacement thread")
                    .allSatisfy(r -> assertThat(r.value().getInferenceStartUs()).isGreaterThan(lastFailureUs.get()));
            assertThat(TopicReader.readAll(bootstrap, "ef-dead-letters", new ByteArrayDeserializer(),
                    StreamformerSerdes.deadLetter(), 0, Duration.ofSeconds(5))).as("no request blamed").isEmpty();
        }
    }
}
