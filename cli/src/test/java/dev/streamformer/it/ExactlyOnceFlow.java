package dev.streamformer.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.stream.Collectors;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.streams.StreamsConfig;

import dev.streamformer.model.Activation;
import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.InferenceEngine;
import dev.streamformer.model.ModelConfig;
import dev.streamformer.model.SharingPlan;
import dev.streamformer.schemas.DeadLetter;
import dev.streamformer.schemas.ErrorKind;
import dev.streamformer.schemas.LatencyEvent;
import dev.streamformer.schemas.Prediction;
import dev.streamformer.schemas.TokenizedInput;
import dev.streamformer.schemas.serde.StreamformerSerdes;
import dev.streamformer.stream.ModelRegistry;
import dev.streamformer.stream.StreamformerApp;
import dev.streamformer.stream.StreamformerAppConfig;
import dev.streamformer.stream.StreamformerConfig;

/**
 * The end-to-end flow both broker tests run: 5,000 valid requests over 4 partitions mixed with bad
 * records, the processor with 4 stream threads under exactly_once_v2, then every output topic read
 * with read_committed.
 */
final class ExactlyOnceFlow {

    static final int VALID = 5_000;

    private final String bootstrap;
    private final Path tmp;
    private final InferenceEngine engine;

    ExactlyOnceFlow(final String bootstrap, final Path tmp) {
        this(bootstrap, tmp, InferenceEngine.DEFAULT);
    }

    ExactlyOnceFlow(final String bootstrap, final Path tmp, final InferenceEngine engine) {
        this.bootstrap = bootstrap;
        this.tmp = tmp;
        this.engine = engine;
    }

    /** Runs the flow and asserts exactly one prediction and latency event per valid request. */
    void run() throws Exception {
        final Path modelDir = tmp.resolve("model-" + engine);
        Checkpoint.random(new ModelConfig(500, 16, 32, 3, 4, 4, 64, 64, 2, Activation.GELU_NEW, 1e-12, true,
                SharingPlan.ALL, List.of("ham", "spam")), 5).save(modelDir);
        final String prefix = "it-" + engine + "-";
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            admin.createTopics(List.of(new NewTopic(prefix + "requests", 4, (short) 1))).all().get();
        }
        final Map<String, ErrorKind> bad = produce(prefix + "requests");

        final Properties props = new Properties();
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, prefix + "processor");
        props.put(StreamformerConfig.ENGINE_CONFIG, engine.configName());
        props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, "4");
        props.put(StreamsConfig.STATE_DIR_CONFIG, tmp.resolve("state-" + engine).toString());
        props.put("consumer.auto.offset.reset", "earliest");
        props.put(StreamformerConfig.MODEL_DIR_CONFIG, modelDir.toString());
        props.put(StreamformerAppConfig.TOPIC_REQUESTS_CONFIG, prefix + "requests");
        props.put(StreamformerAppConfig.TOPIC_PREDICTIONS_CONFIG, prefix + "predictions");
        props.put(StreamformerAppConfig.TOPIC_LATENCY_CONFIG, prefix + "latency");
        props.put(StreamformerAppConfig.TOPIC_DEAD_LETTERS_CONFIG, prefix + "dead-letters");
        final ModelRegistry registry = new ModelRegistry();
        final List<ConsumerRecord<String, Prediction>> predictions;
        final List<ConsumerRecord<String, LatencyEvent>> latency;
        final List<ConsumerRecord<byte[], DeadLetter>> deadLetters;
        try (StreamformerApp app = StreamformerApp.start(props, registry)) {
            assertThat(app.awaitRunning(Duration.ofSeconds(60))).isTrue();
            predictions = TopicReader.readAll(bootstrap, prefix + "predictions", new StringDeserializer(),
                    StreamformerSerdes.prediction(), VALID, Duration.ofSeconds(180));
            latency = TopicReader.readAll(bootstrap, prefix + "latency", new StringDeserializer(),
                    StreamformerSerdes.latencyEvent(), VALID, Duration.ofSeconds(60));
            deadLetters = TopicReader.readAll(bootstrap, prefix + "dead-letters",
                    new ByteArrayDeserializer(), StreamformerSerdes.deadLetter(), bad.size(), Duration.ofSeconds(60));
        }

        assertThat(predictions).hasSize(VALID);
        assertThat(predictions.stream().map(ConsumerRecord::key).distinct().count()).isEqualTo(VALID);
        assertThat(predictions).allSatisfy(r -> assertThat(r.key()).startsWith("ok-"));
        assertThat(latency).hasSize(VALID);
        assertThat(latency.stream().map(ConsumerRecord::key).distinct().count()).isEqualTo(VALID);
        assertThat(latency.stream().map(r -> r.value().getStreamThread()).distinct().count())
                .as("stream threads that served requests").isGreaterThan(1);
        assertThat(latency.stream().map(r -> r.value().getSourcePartition()).distinct().count()).isEqualTo(4);

        final Map<String, ErrorKind> found = deadLetters.stream().collect(Collectors.toMap(
                r -> new String(r.key()), r -> r.value().getErrorKind()));
        assertThat(found).isEqualTo(bad);
        assertThat(registry.loads()).as("model loads in this JVM").isEqualTo(1);

        // The batch buffer's store is cached: its changelog is written at commits, so a request whose
        // batch ran within one commit interval leaves a tombstone only, not its entry and a tombstone.
        final List<ConsumerRecord<byte[], byte[]>> changelog = TopicReader.readAll(bootstrap,
                prefix + "processor-streamformer-batch-buffer-changelog", new ByteArrayDeserializer(),
                new ByteArrayDeserializer(), 1, Duration.ofSeconds(30));
        final long entries = changelog.stream().filter(r -> r.value() != null).count();
        assertThat(entries).as("requests written whole to the changelog (waiting at a commit)").isLessThan(VALID / 10);
        assertThat(changelog.size()).as("changelog records for %d buffered requests", VALID).isLessThan(VALID * 3 / 2);
    }

    /** Produces the valid requests and the bad records; returns the expected dead-letter kinds by key. */
    private Map<String, ErrorKind> produce(final String topic) throws Exception {
        final Map<String, ErrorKind> bad = new HashMap<>();
        final List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
        final SplittableRandom random = new SplittableRandom(9);
        final Function<TokenizedInput, byte[]> encode = r -> StreamformerSerdes.tokenizedInput().serialize(topic, r);
        for (int i = 0; i < VALID; i++) {
            final List<Integer> ids = new ArrayList<>();
            ids.add(2);
            random.ints(1 + random.nextInt(30), 5, 500).forEach(ids::add);
            ids.add(3);
            records.add(record(topic, "ok-" + i, encode.apply(request("ok-" + i, ids))));
        }
        records.add(record(topic, "garbage", new byte[] {(byte) 0xC3, 1, 9, 9, 9}));
        bad.put("garbage", ErrorKind.DESERIALIZATION);
        records.add(record(topic, "random-bytes", new byte[] {42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42}));
        bad.put("random-bytes", ErrorKind.DESERIALIZATION);
        final Prediction wrongType = Prediction.newBuilder().setRequestId("x").setModelName("m").setModelVersion("v")
                .setLabel("ham").setLabelIndex(0).setProbabilities(Map.of("ham", 1.0)).setNumTokens(1)
                .setCreatedAt(Instant.EPOCH).setPredictedAt(Instant.EPOCH).build();
        records.add(record(topic, "wrong-schema", StreamformerSerdes.prediction().serialize(topic, wrongType)));
        bad.put("wrong-schema", ErrorKind.DESERIALIZATION);
        records.add(record(topic, "empty", encode.apply(request("empty", List.of()))));
        bad.put("empty", ErrorKind.VALIDATION);
        records.add(record(topic, "out-of-range", encode.apply(request("out-of-range", List.of(2, 500, 3)))));
        bad.put("out-of-range", ErrorKind.VALIDATION);
        records.add(record(topic, "too-long", encode.apply(request("too-long", Collections.nCopies(65, 7)))));
        bad.put("too-long", ErrorKind.VALIDATION);
        Collections.shuffle(records, new java.util.Random(3));

        final Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(),
                new ByteArraySerializer())) {
            for (final ProducerRecord<byte[], byte[]> r : records) {
                producer.send(r);
            }
            producer.flush();
        }
        return bad;
    }

    private static ProducerRecord<byte[], byte[]> record(final String topic, final String key, final byte[] value) {
        return new ProducerRecord<>(topic, key.getBytes(), value);
    }

    private static TokenizedInput request(final String id, final List<Integer> ids) {
        return TokenizedInput.newBuilder().setRequestId(id).setTokenIds(ids).setCreatedAt(Instant.now()).build();
    }
}
