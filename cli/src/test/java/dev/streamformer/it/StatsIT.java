package dev.streamformer.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import dev.streamformer.schemas.LatencyEvent;
import dev.streamformer.schemas.LatencyStats;
import dev.streamformer.schemas.serde.StreamformerSerdes;
import dev.streamformer.stats.StatsApp;
import dev.streamformer.stream.StreamformerAppConfig;
import dev.streamformer.testkit.EmbeddedKafka;

/**
 * `streamformer stats` on a real broker under exactly_once_v2: latency events of one model version
 * on both partitions of the latency topic become one statistics record per window.
 */
@Tag("integration")
class StatsIT {

    @TempDir
    Path tmp;

    @Test
    @Timeout(240)
    void eventsOfTwoPartitionsMergeIntoOneRecordPerWindow() throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.start(tmp.resolve("kafka"), 0, Map.of())) {
            final String b = kafka.bootstrapServers();
            try (Admin admin = Admin.create(Map.of("bootstrap.servers", b))) {
                admin.createTopics(List.of(new NewTopic("st-latency", 2, (short) 1),
                        new NewTopic("st-dead-letters", 2, (short) 1))).all().get();
            }
            final Properties props = new Properties();
            props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, b);
            props.put(StreamsConfig.STATE_DIR_CONFIG, tmp.resolve("state").toString());
            props.put(StreamformerAppConfig.TOPIC_LATENCY_CONFIG, "st-latency");
            props.put(StreamformerAppConfig.TOPIC_DEAD_LETTERS_CONFIG, "st-dead-letters");
            props.put(StreamformerAppConfig.TOPIC_STATS_CONFIG, "st-stats");
            props.put(StreamformerAppConfig.STATS_WINDOW_MS_CONFIG, "10000");
            props.put(StreamformerAppConfig.STATS_GRACE_MS_CONFIG, "1000");
            // Windows of the events' own timestamps: [t0, t0 + 10 s), far in the past.
            final long t0 = 1_700_000_000_000L;
            final Properties p = new Properties();
            p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, b);
            final List<ConsumerRecord<String, LatencyStats>> stats;
            try (StatsApp app = StatsApp.start(props);
                    KafkaProducer<String, LatencyEvent> producer = new KafkaProducer<>(p, new StringSerializer(),
                            StreamformerSerdes.latencyEvent().serializer())) {
                for (int i = 0; i < 200; i++) {
                    producer.send(new ProducerRecord<>("st-latency", i % 2, t0 + i * 10L, "r-" + i,
                            event("v1", 1_000L + i * 10, 1)));
                }
                producer.flush();
                // Time moves on only once both partitions' events are in the aggregate, as it does when
                // processors write events as they serve: then later events close the window.
                awaitAggregated(b, 200);
                for (int i = 0; i < 2; i++) {
                    producer.send(new ProducerRecord<>("st-latency", i, t0 + 30_000L, "late-" + i, event("v1", 5_000L, 1)));
                }
                producer.flush();
                stats = TopicReader.readAll(b, "st-stats", new StringDeserializer(), StreamformerSerdes.latencyStats(),
                        1, Duration.ofSeconds(120));
                assertThat(app.state()).isEqualTo(KafkaStreams.State.RUNNING);
                // An event of the closed window: dropped, and counted (the CLI says so in one line, not per event).
                producer.send(new ProducerRecord<>("st-latency", 0, t0 + 5_000L, "too-late", event("v1", 1_000L, 1)));
                producer.flush();
                final long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                while (app.lateEvents() < 1 && System.nanoTime() < deadline) {
                    Thread.sleep(200);
                }
                assertThat(app.lateEvents()).as("late events counted").isEqualTo(1);
            }
            assertThat(stats).as("one record for the closed window of v1").hasSize(1);
            final LatencyStats s = stats.get(0).value();
            assertThat(stats.get(0).key()).isEqualTo("v1");
            assertThat(s.getWindowStart()).isEqualTo(Instant.ofEpochMilli(t0 - t0 % 10_000));
            assertThat(s.getCount()).as("events of both partitions in one record").isEqualTo(200);
            assertThat((double) s.getInference().getMaxUs()).isCloseTo(2_990, org.assertj.core.api.Assertions.within(30.0));
        }
    }

    /** Waits until the statistics application has committed n records of its repartition topic. */
    private static void awaitAggregated(final String bootstrap, final long n) throws Exception {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            final long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
            while (System.nanoTime() < deadline) {
                final long committed = admin.listConsumerGroupOffsets("streamformer-stats").partitionsToOffsetAndMetadata()
                        .get().entrySet().stream().filter(e -> e.getKey().topic().endsWith("by-version-repartition"))
                        .mapToLong(e -> e.getValue() == null ? 0 : e.getValue().offset()).sum();
                if (committed >= n) {
                    return;
                }
                Thread.sleep(200);
            }
            throw new AssertionError("the statistics application did not aggregate " + n + " events in 90 s");
        }
    }

    private static LatencyEvent event(final String version, final long inferenceUs, final int batch) {
        return LatencyEvent.newBuilder().setRequestId("r").setModelVersion(version).setSourceTopic("t")
                .setSourcePartition(0).setSourceOffset(0).setStreamThread("s").setTaskId("0_0").setBatchSize(batch)
                .setRecordTimestampMs(Instant.EPOCH).setReceivedAtUs(0).setInferenceStartUs(0)
                .setInferenceEndUs(inferenceUs).setHandedToKafkaUs(inferenceUs).setQueueingUs(10).setBatchWaitUs(20)
                .setInferenceUs(inferenceUs).setProcessingUs(inferenceUs + 20).setEndToEndUs(inferenceUs + 30).build();
    }
}
