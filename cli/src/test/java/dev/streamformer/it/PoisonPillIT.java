package dev.streamformer.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.Future;
import java.util.stream.Collectors;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import dev.streamformer.model.Activation;
import dev.streamformer.model.Checkpoint;
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
import dev.streamformer.testkit.EmbeddedKafka;

/**
 * 10,000 generated bad records of every kind mixed with 1,000 valid requests, through a real
 * broker under exactly_once_v2: the processor keeps running, every valid request is predicted
 * once, and every bad record is in the dead-letter topic with the right kind, reconciled by its
 * source partition and offset.
 */
@Tag("integration")
class PoisonPillIT {

    private static final int BAD = 10_000;
    private static final int VALID = 1_000;
    private static final int VOCAB = 500;
    private static final int MAX_TOKENS = 64;
    private static final String TOPIC = "pp-requests";

    @TempDir
    Path tmp;

    /** Kinds of bad record, each with the dead-letter kind it must get. */
    enum Pill {
        RANDOM_BYTES(ErrorKind.DESERIALIZATION),
        TRUNCATED_AVRO(ErrorKind.DESERIALIZATION),
        UNKNOWN_FINGERPRINT(ErrorKind.DESERIALIZATION),
        NULL_VALUE(ErrorKind.DESERIALIZATION),
        HUGE_DECLARED_ARRAY(ErrorKind.DESERIALIZATION),
        EMPTY_IDS(ErrorKind.VALIDATION),
        NEGATIVE_ID(ErrorKind.VALIDATION),
        OUT_OF_RANGE_ID(ErrorKind.VALIDATION),
        MASK_LENGTH_MISMATCH(ErrorKind.VALIDATION),
        TOO_LONG(ErrorKind.VALIDATION),
        BLANK_REQUEST_ID(ErrorKind.VALIDATION),
        HUGE_ARRAY(ErrorKind.VALIDATION);

        final ErrorKind kind;

        Pill(final ErrorKind kind) {
            this.kind = kind;
        }
    }

    @Test
    @Timeout(600)
    void everyBadRecordIsDeadLetteredWithItsKindAndEveryValidOneIsPredicted() throws Exception {
        final Path modelDir = tmp.resolve("model");
        Checkpoint.random(new ModelConfig(VOCAB, 16, 32, 2, 4, 4, 64, MAX_TOKENS, 2, Activation.GELU_NEW, 1e-12, true,
                SharingPlan.ALL, List.of("ham", "spam")), 5).save(modelDir);
        try (EmbeddedKafka kafka = EmbeddedKafka.start(tmp.resolve("kafka"), 0, Map.of())) {
            final String bootstrap = kafka.bootstrapServers();
            try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
                admin.createTopics(List.of(new NewTopic(TOPIC, 4, (short) 1))).all().get();
            }
            final Produced produced = produce(bootstrap);
            final Map<Pill, Long> byPill = produced.pills.values().stream()
                    .collect(Collectors.groupingBy(p -> p, () -> new java.util.EnumMap<>(Pill.class),
                            Collectors.counting()));
            System.out.println("Produced " + VALID + " valid requests and " + produced.pills.size()
                    + " bad records: " + byPill);

            final Properties props = new Properties();
            props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            props.put(StreamsConfig.APPLICATION_ID_CONFIG, "pp-processor");
            props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, "2");
            props.put(StreamsConfig.STATE_DIR_CONFIG, tmp.resolve("state").toString());
            props.put(StreamformerConfig.MODEL_DIR_CONFIG, modelDir.toString());
            props.put(StreamformerAppConfig.TOPIC_REQUESTS_CONFIG, TOPIC);
            props.put(StreamformerAppConfig.TOPIC_PREDICTIONS_CONFIG, "pp-predictions");
            props.put(StreamformerAppConfig.TOPIC_LATENCY_CONFIG, "pp-latency");
            props.put(StreamformerAppConfig.TOPIC_DEAD_LETTERS_CONFIG, "pp-dead-letters");
            final List<ConsumerRecord<String, Prediction>> predictions;
            final List<ConsumerRecord<String, LatencyEvent>> latency;
            final List<ConsumerRecord<byte[], DeadLetter>> deadLetters;
            try (StreamformerApp app = StreamformerApp.start(props, new ModelRegistry())) {
                deadLetters = TopicReader.readAll(bootstrap, "pp-dead-letters", new ByteArrayDeserializer(),
                        StreamformerSerdes.deadLetter(), BAD, Duration.ofSeconds(300));
                predictions = TopicReader.readAll(bootstrap, "pp-predictions", new StringDeserializer(),
                        StreamformerSerdes.prediction(), VALID, Duration.ofSeconds(120));
                latency = TopicReader.readAll(bootstrap, "pp-latency", new StringDeserializer(),
                        StreamformerSerdes.latencyEvent(), VALID, Duration.ofSeconds(60));
                assertThat(app.state()).as("processor state after the run").isEqualTo(KafkaStreams.State.RUNNING);
            }

            assertThat(predictions.stream().map(r -> r.value().getRequestId()).sorted().toList())
                    .as("one prediction per valid request").isEqualTo(produced.validIds);
            assertThat(latency).hasSize(VALID);
            final Map<String, ErrorKind> expected = new TreeMap<>();
            produced.pills.forEach((where, pill) -> expected.put(where, pill.kind));
            final Map<String, ErrorKind> found = new TreeMap<>();
            for (final ConsumerRecord<byte[], DeadLetter> r : deadLetters) {
                final DeadLetter d = r.value();
                assertThat(found.put(d.getSourcePartition() + "@" + d.getSourceOffset(), d.getErrorKind()))
                        .as("dead letters for one source record").isNull();
                assertThat(d.getErrorMessage()).isNotBlank();
            }
            final Map<ErrorKind, Long> foundByKind = found.values().stream()
                    .collect(Collectors.groupingBy(k -> k, TreeMap::new, Collectors.counting()));
            System.out.println("Reconciled: " + predictions.size() + " predictions, " + latency.size()
                    + " latency events, " + deadLetters.size() + " dead letters " + foundByKind);
            assertThat(found).as("dead letters by source partition@offset").isEqualTo(expected);
        }
    }

    private record Produced(List<String> validIds, Map<String, Pill> pills) {
    }

    private Produced produce(final String bootstrap) throws Exception {
        final SplittableRandom random = new SplittableRandom(17);
        final List<Object[]> plan = new ArrayList<>();
        final Pill[] pills = Pill.values();
        for (int i = 0; i < BAD; i++) {
            // Huge arrays are 20 of the 10,000 (each is about 300 KB); the rest cycle through the other kinds.
            final Pill pill = i % 500 == 0 ? Pill.HUGE_ARRAY : pills[i % (pills.length - 1)];
            plan.add(new Object[] {pill, i});
        }
        for (int i = 0; i < VALID; i++) {
            plan.add(new Object[] {null, i});
        }
        Collections.shuffle(plan, new Random(5));

        final Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, "1000000");
        final List<String> validIds = new ArrayList<>();
        final Map<Future<RecordMetadata>, Pill> sent = new HashMap<>();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(),
                new ByteArraySerializer())) {
            for (final Object[] step : plan) {
                final Pill pill = (Pill) step[0];
                final int i = (int) step[1];
                if (pill == null) {
                    final String id = "ok-" + i;
                    validIds.add(id);
                    final List<Integer> ids = new ArrayList<>();
                    ids.add(2);
                    random.ints(1 + random.nextInt(20), 5, VOCAB).forEach(ids::add);
                    ids.add(3);
                    // Every tenth valid request has a null key: the request id is in the value.
                    final byte[] key = i % 10 == 0 ? null : id.getBytes();
                    producer.send(new ProducerRecord<>(TOPIC, key, encode(request(id, ids, null))));
                } else {
                    final byte[] key = i % 7 == 0 ? null : ("bad-" + i).getBytes();
                    sent.put(producer.send(new ProducerRecord<>(TOPIC, key, pill(pill, i, random))), pill);
                }
            }
            producer.flush();
        }
        final Map<String, Pill> where = new HashMap<>();
        for (final Map.Entry<Future<RecordMetadata>, Pill> e : sent.entrySet()) {
            final RecordMetadata m = e.getKey().get();
            where.put(m.partition() + "@" + m.offset(), e.getValue());
        }
        Collections.sort(validIds);
        return new Produced(validIds, where);
    }

    private static byte[] pill(final Pill pill, final int i, final SplittableRandom random) {
        final String id = "bad-" + i;
        final List<Integer> ok = List.of(2, 10, 11, 3);
        return switch (pill) {
            case RANDOM_BYTES -> {
                final byte[] b = new byte[1 + random.nextInt(200)];
                for (int j = 0; j < b.length; j++) {
                    b[j] = (byte) random.nextInt(256);
                }
                // A random value that happens to start with the single-object marker still has an unknown fingerprint.
                yield b;
            }
            case TRUNCATED_AVRO -> {
                final byte[] full = encode(request(id, ok, null));
                yield Arrays.copyOf(full, 10 + random.nextInt(full.length - 10));
            }
            case UNKNOWN_FINGERPRINT -> {
                final byte[] full = encode(request(id, ok, null));
                for (int j = 2; j < 10; j++) {
                    full[j] = (byte) ~full[j];
                }
                yield full;
            }
            case NULL_VALUE -> null;
            case HUGE_DECLARED_ARRAY -> {
                // Header, the request id, then an array that claims 500 million ints and ends after three.
                final byte[] full = encode(request(id, ok, null));
                final ByteArrayOutputStream out = new ByteArrayOutputStream();
                out.write(full, 0, 10);
                final byte[] idBytes = id.getBytes();
                writeLong(out, idBytes.length);
                out.write(idBytes, 0, idBytes.length);
                writeLong(out, 500_000_000L);
                writeLong(out, 7);
                writeLong(out, 8);
                writeLong(out, 9);
                yield out.toByteArray();
            }
            case EMPTY_IDS -> encode(request(id, List.of(), null));
            case NEGATIVE_ID -> encode(request(id, List.of(2, -1 - random.nextInt(1000), 3), null));
            case OUT_OF_RANGE_ID -> encode(request(id, List.of(2, VOCAB + random.nextInt(100_000), 3), null));
            case MASK_LENGTH_MISMATCH -> encode(request(id, ok, List.of(1, 1)));
            case TOO_LONG -> encode(request(id, Collections.nCopies(MAX_TOKENS + 1 + random.nextInt(200), 7), null));
            case BLANK_REQUEST_ID -> encode(request(" ", ok, null));
            case HUGE_ARRAY -> encode(request(id, Collections.nCopies(100_000, 300), null));
        };
    }

    /** Avro's zig-zag varint encoding of a long. */
    private static void writeLong(final ByteArrayOutputStream out, final long value) {
        long n = (value << 1) ^ (value >> 63);
        while ((n & ~0x7FL) != 0) {
            out.write((int) ((n & 0x7F) | 0x80));
            n >>>= 7;
        }
        out.write((int) n);
    }

    private static byte[] encode(final TokenizedInput request) {
        return StreamformerSerdes.tokenizedInput().serialize(TOPIC, request);
    }

    private static TokenizedInput request(final String id, final List<Integer> ids, final List<Integer> mask) {
        return TokenizedInput.newBuilder().setRequestId(id).setTokenIds(ids).setAttentionMask(mask)
                .setCreatedAt(Instant.now()).build();
    }
}
