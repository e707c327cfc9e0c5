package dev.streamformer.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.LongSerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

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
 * A rolling upgrade with requests in the batch buffer: the broker holds what a processor of the
 * release before the versioned buffer format leaves behind when it is SIGKILLed mid-batch (its
 * buffer's changelog, written by that processor's code, see the fixture's header; its input
 * offsets committed past the buffered requests), and the processor of this release restores the
 * buffer and serves every request exactly once: the buffered ones from the changelog, the rest from
 * the topic.
 */
@Tag("integration")
class BufferUpgradeIT {

    private static final String APP = "upgrade-app";
    private static final String REQUESTS = "upgrade-requests";

    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    Path tmp;

    @Test
    @Timeout(240)
    void theNewProcessorServesTheRequestsTheOldOneBufferedExactlyOnce() throws Exception {
        final List<byte[]> entries = fixture();
        try (EmbeddedKafka kafka = EmbeddedKafka.start(tmp.resolve("kafka"), 0, Map.of())) {
            final Properties client = new Properties();
            client.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
            try (Admin admin = Admin.create(client)) {
                admin.createTopics(List.of(new NewTopic(REQUESTS, 1, (short) 1),
                        new NewTopic(APP + "-streamformer-batch-buffer-changelog", 1, (short) 1)
                                .configs(Map.of("cleanup.policy", "compact")))).all().get();
            }
            final Properties producerProps = new Properties();
            producerProps.putAll(client);
            producerProps.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
            final int fresh = 5;
            try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(producerProps, new ByteArraySerializer(),
                    new ByteArraySerializer());
                    KafkaProducer<Long, byte[]> changelog = new KafkaProducer<>(producerProps, new LongSerializer(),
                            new ByteArraySerializer())) {
                // Offsets 0-4: the requests the old processor had read and buffered when it was killed.
                for (int i = 0; i < entries.size(); i++) {
                    final TokenizedInput request = StreamformerSerdes.tokenizedInput().deserialize(REQUESTS,
                            valueOf(entries.get(i)));
                    assertThat(request.getRequestId()).isEqualTo("upgrade-" + i);
                    assertThat(producer.send(new ProducerRecord<>(REQUESTS, 0, ("upgrade-" + i).getBytes(StandardCharsets.UTF_8),
                            valueOf(entries.get(i)))).get().offset()).isEqualTo(i);
                }
                // Offsets 5-9: requests it never read.
                for (int i = 0; i < fresh; i++) {
                    final String id = "fresh-" + i;
                    producer.send(new ProducerRecord<>(REQUESTS, 0, id.getBytes(StandardCharsets.UTF_8),
                            StreamformerSerdes.tokenizedInput().serialize(REQUESTS, TokenizedInput.newBuilder()
                                    .setRequestId(id).setText("Meeting notes number " + i + " are in the shared folder.")
                                    .setCreatedAt(Instant.now()).build()))).get();
                }
                // Its buffer's changelog as its last commit left it: the five entries, in the old layout.
                for (int i = 0; i < entries.size(); i++) {
                    changelog.send(new ProducerRecord<>(APP + "-streamformer-batch-buffer-changelog", 0, (long) i,
                            entries.get(i))).get();
                }
            }
            try (Admin admin = Admin.create(client)) {
                // And the input offsets of that commit: past the buffered requests.
                admin.alterConsumerGroupOffsets(APP, Map.of(new TopicPartition(REQUESTS, 0),
                        new OffsetAndMetadata(entries.size()))).all().get();
            }

            final Properties props = new Properties();
            props.putAll(client);
            props.put(StreamsConfig.APPLICATION_ID_CONFIG, APP);
            props.put(StreamsConfig.STATE_DIR_CONFIG, tmp.resolve("state").toString());
            props.put(StreamformerAppConfig.TOPIC_REQUESTS_CONFIG, REQUESTS);
            props.put(StreamformerAppConfig.TOPIC_PREDICTIONS_CONFIG, "upgrade-predictions");
            props.put(StreamformerAppConfig.TOPIC_LATENCY_CONFIG, "upgrade-latency");
            props.put(StreamformerAppConfig.TOPIC_DEAD_LETTERS_CONFIG, "upgrade-dead-letters");
            props.put(StreamformerAppConfig.TOPIC_PARTITIONS_CONFIG, "1");
            props.put(StreamformerConfig.TOPIC_MODELS_CONFIG, "");
            props.put(StreamformerConfig.BATCH_SIZE_CONFIG, "4");
            props.put(StreamformerConfig.BATCH_MAX_WAIT_MS_CONFIG, "100");
            props.put(StreamformerAppConfig.HEALTH_PORT_CONFIG, "-1");
            try (StreamformerApp app = StreamformerApp.start(props, new ModelRegistry())) {
                final List<ConsumerRecord<String, Prediction>> predictions = TopicReader.readAll(kafka.bootstrapServers(),
                        "upgrade-predictions", new StringDeserializer(), StreamformerSerdes.prediction(),
                        entries.size() + fresh, Duration.ofSeconds(120));
                final List<String> ids = new ArrayList<>();
                predictions.forEach(r -> ids.add(r.key()));
                final List<String> expected = new ArrayList<>();
                for (int i = 0; i < entries.size(); i++) {
                    expected.add("upgrade-" + i);
                }
                for (int i = 0; i < fresh; i++) {
                    expected.add("fresh-" + i);
                }
                assertThat(ids).as("every request served once: the buffered ones restored, the rest read")
                        .containsExactlyInAnyOrderElementsOf(expected);
                final List<ConsumerRecord<String, LatencyEvent>> latency = TopicReader.readAll(kafka.bootstrapServers(),
                        "upgrade-latency", new StringDeserializer(), StreamformerSerdes.latencyEvent(),
                        expected.size(), Duration.ofSeconds(30));
                for (final ConsumerRecord<String, LatencyEvent> r : latency) {
                    if (r.key().startsWith("upgrade-")) {
                        final int i = Integer.parseInt(r.key().substring("upgrade-".length()));
                        assertThat(r.value().getSourceOffset()).as("the restored entry's source offset").isEqualTo(i);
                        assertThat(r.value().getReceivedAtUs()).as("received when the old processor read it:"
                                + " served from its buffer, not read again").isEqualTo(1_765_000_000_100_000L + i * 1000L);
                        assertThat(r.value().getRecordTimestampMs()).as("the restored entry's record timestamp")
                                .isEqualTo(Instant.ofEpochMilli(1_765_000_000_000L + i));
                    }
                }
                assertThat(latency).hasSize(expected.size());
            }
        }
    }

    /** The value bytes of an unversioned entry: after the topic, partition, offset, timestamp and key. */
    private static byte[] valueOf(final byte[] entry) throws Exception {
        try (java.io.DataInputStream in = new java.io.DataInputStream(new java.io.ByteArrayInputStream(entry))) {
            in.readUTF();
            in.readInt();
            in.readLong();
            in.readLong();
            in.readNBytes(in.readInt());
            return in.readNBytes(in.readInt());
        }
    }

    private static List<byte[]> fixture() throws Exception {
        try (InputStream in = BufferUpgradeIT.class.getResourceAsStream(
                "/dev/streamformer/stream/batch-buffer-entries-unversioned.tsv")) {
            assertThat(in).as("the fixture in the processor's test jar").isNotNull();
            final List<byte[]> out = new ArrayList<>();
            for (final String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (!line.isBlank() && !line.startsWith("#")) {
                    out.add(Base64.getDecoder().decode(line.split("\t")[1]));
                }
            }
            return out;
        }
    }
}
