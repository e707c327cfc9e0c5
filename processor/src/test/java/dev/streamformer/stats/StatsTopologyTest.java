package dev.streamformer.stats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.Test;

import dev.streamformer.schemas.DeadLetter;
import dev.streamformer.schemas.DurationStats;
import dev.streamformer.schemas.ErrorKind;
import dev.streamformer.schemas.LatencyEvent;
import dev.streamformer.schemas.LatencyStats;
import dev.streamformer.schemas.serde.StreamformerSerdes;
import dev.streamformer.stream.StreamformerAppConfig;

/** Windowed statistics on latency events whose times, durations and depths the test sets. */
class StatsTopologyTest {

    @Test
    void percentilesAreWithinTheStatedErrorAndAWindowIsWrittenOnceItCloses() {
        final Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "stats-test");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        final StreamformerAppConfig config = new StreamformerAppConfig(props);
        try (TopologyTestDriver driver = new TopologyTestDriver(StatsTopology.build(config), props)) {
            final TestInputTopic<String, LatencyEvent> latency = driver.createInputTopic(config.latencyTopic(),
                    new StringSerializer(), StreamformerSerdes.latencyEvent().serializer());
            final TestInputTopic<byte[], DeadLetter> deadLetters = driver.createInputTopic(config.deadLettersTopic(),
                    new ByteArraySerializer(), StreamformerSerdes.deadLetter().serializer());
            final TestOutputTopic<String, LatencyStats> stats = driver.createOutputTopic("streamformer-latency-stats",
                    new StringDeserializer(), StreamformerSerdes.latencyStats());
            // Window [0, 10 s): version a, inference 100 us .. 100,000 us in steps of 100; version b, 50 x 7 ms.
            for (int i = 1; i <= 1000; i++) {
                final LatencyEvent e = event("a", i * 100L, i % 4 + 1);
                e.setLayersRun(i % 3 + 1);
                latency.pipeInput("a-" + i, e, Instant.ofEpochMilli(i * 9L));
            }
            for (int i = 0; i < 50; i++) {
                latency.pipeInput("b-" + i, event("b", 7_000, 8), Instant.ofEpochMilli(5_000 + i));
            }
            deadLetters.pipeInput(new byte[] {1}, deadLetter(ErrorKind.VALIDATION), Instant.ofEpochMilli(3_000));
            deadLetters.pipeInput(new byte[] {2}, deadLetter(ErrorKind.VALIDATION), Instant.ofEpochMilli(4_000));
            deadLetters.pipeInput(new byte[] {3}, deadLetter(ErrorKind.DESERIALIZATION), Instant.ofEpochMilli(9_999));
            // Stream time 14.9 s: the window [0, 10 s) is still within its grace (5 s), so nothing is written.
            latency.pipeInput("a-late", event("a", 100_000_000, 1), Instant.ofEpochMilli(14_900));
            assertThat(stats.isEmpty()).as("a window is written only when it closes").isTrue();
            // A late event of the first window, within the grace: counted there.
            latency.pipeInput("a-in-grace", event("a", 50_000, 1), Instant.ofEpochMilli(9_000));
            // Stream time 15 s = end + grace: for each key, the window closes with the next record of that key.
            latency.pipeInput("a-next", event("a", 1_000, 1), Instant.ofEpochMilli(15_000));
            latency.pipeInput("b-next", event("b", 1_000, 1), Instant.ofEpochMilli(15_001));
            deadLetters.pipeInput(new byte[] {4}, deadLetter(ErrorKind.INFERENCE), Instant.ofEpochMilli(15_002));
            final Map<String, LatencyStats> byVersion = new java.util.HashMap<>();
            stats.readKeyValuesToList().forEach(kv -> assertThat(byVersion.put(kv.key, kv.value))
                    .as("one record per version and window").isNull());
            assertThat(byVersion.keySet()).containsExactlyInAnyOrder("a", "b", StatsTopology.ALL_VERSIONS);

            final LatencyStats a = byVersion.get("a");
            assertThat(a.getWindowStart()).isEqualTo(Instant.EPOCH);
            assertThat(a.getWindowEnd()).isEqualTo(Instant.ofEpochMilli(10_000));
            assertThat(a.getCount()).isEqualTo(1001);
            assertThat(a.getRecordsPerSecond()).isCloseTo(100.1, within(1e-9));
            assertThat(a.getRelativeError()).isEqualTo(0.01);
            final DurationStats inference = a.getInference();
            // Exact: 1,001 values; the 50th percentile is 50,000 us (the in-grace event adds one 50,000).
            assertThat((double) inference.getP50Us()).isCloseTo(50_000, within(500.0));
            assertThat((double) inference.getP95Us()).isCloseTo(95_000, within(950.0));
            assertThat((double) inference.getP99Us()).isCloseTo(99_000, within(990.0));
            assertThat((double) inference.getMaxUs()).isCloseTo(100_000, within(1_000.0));
            assertThat(a.getBatchSizeMax()).isEqualTo(4);
            assertThat(a.getBatchSizeMean()).isCloseTo((250 * (1 + 2 + 3 + 4) + 1) / 1001.0, within(1e-9));
            assertThat(a.getDeadLetters()).isEmpty();
            // 1,000 events report their layers (334 x 2, 333 x 3, 333 x 1), the in-grace one does not (version 1).
            assertThat(a.getLayersRunMean()).as("mean depth").isCloseTo((334 * 2 + 333 * 3 + 333 * 1) / 1000.0,
                    within(1e-9));

            final LatencyStats b = byVersion.get("b");
            assertThat(b.getCount()).isEqualTo(50);
            assertThat((double) b.getInference().getP99Us()).isCloseTo(7_000, within(70.0));
            assertThat(b.getLayersRunMean()).as("no event of b reports its layers").isNull();
            assertThat(byVersion.get(StatsTopology.ALL_VERSIONS).getDeadLetters())
                    .isEqualTo(Map.of("VALIDATION", 2L, "DESERIALIZATION", 1L));
            assertThat(byVersion.get(StatsTopology.ALL_VERSIONS).getCount()).isZero();
        }
    }

    static LatencyEvent event(final String version, final long inferenceUs, final int batch) {
        return LatencyEvent.newBuilder().setRequestId("r").setModelVersion(version).setSourceTopic("t")
                .setSourcePartition(0).setSourceOffset(0).setStreamThread("s").setTaskId("0_0").setBatchSize(batch)
                .setRecordTimestampMs(Instant.EPOCH).setReceivedAtUs(0).setInferenceStartUs(0)
                .setInferenceEndUs(inferenceUs).setHandedToKafkaUs(inferenceUs).setQueueingUs(10).setBatchWaitUs(20)
                .setInferenceUs(inferenceUs).setProcessingUs(inferenceUs + 20).setEndToEndUs(inferenceUs + 30).build();
    }

    static DeadLetter deadLetter(final ErrorKind kind) {
        return DeadLetter.newBuilder().setSourceTopic("t").setSourcePartition(0).setSourceOffset(0).setErrorKind(kind)
                .setErrorMessage("x").setFailedAt(Instant.EPOCH).setRequestId(null).setKey(null).setValue(null).build();
    }

}
