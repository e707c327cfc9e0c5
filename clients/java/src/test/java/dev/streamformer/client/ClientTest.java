package dev.streamformer.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.time.Instant;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.streamformer.monitor.LatencySummary;
import dev.streamformer.schemas.LatencyEvent;
import dev.streamformer.schemas.TokenizedInput;
import dev.streamformer.schemas.serde.StreamformerSerdes;

/** The Java client's pieces on real Avro bytes: requests as the processor reads them, latency percentiles. */
class ClientTest {

    @Test
    void aRequestRoundTripsThroughTheSingleObjectSerdeWithItsIdsAndMetadata() {
        final TokenizedInput request = Requests.of("r-1", new int[] {2, 17, 3}, Map.of("tenant", "a"));
        final byte[] bytes = StreamformerSerdes.tokenizedInput().serialize("t", request);
        assertThat(bytes[0]).as("single-object marker").isEqualTo((byte) 0xC3);
        final TokenizedInput back = StreamformerSerdes.tokenizedInput().deserialize("t", bytes);
        assertThat(back.getRequestId()).isEqualTo("r-1");
        assertThat(back.getTokenIds()).containsExactly(2, 17, 3);
        assertThat(back.getMetadata()).containsEntry("tenant", "a");
        assertThat(back.getCreatedAt()).isBeforeOrEqualTo(Instant.now());
    }

    @Test
    void latencyPercentilesComeFromTheEventsWithinTheHistogramsPrecision() {
        final LatencySummary summary = new LatencySummary();
        for (int i = 1; i <= 100; i++) {
            summary.add(event(i * 1_000L));
        }
        assertThat(summary.count()).isEqualTo(100);
        assertThat((double) summary.percentileUs("inference", 50)).isCloseTo(50_000, within(100.0));
        assertThat((double) summary.percentileUs("inference", 99)).isCloseTo(99_000, within(100.0));
        assertThat(summary.toTable()).contains("inference");
    }

    private static LatencyEvent event(final long inferenceUs) {
        return LatencyEvent.newBuilder().setRequestId("r").setModelVersion("v").setSourceTopic("t")
                .setSourcePartition(0).setSourceOffset(0).setStreamThread("s").setTaskId("0_0").setBatchSize(1)
                .setRecordTimestampMs(Instant.ofEpochMilli(0)).setReceivedAtUs(0).setInferenceStartUs(0)
                .setInferenceEndUs(inferenceUs).setHandedToKafkaUs(inferenceUs).setQueueingUs(0).setBatchWaitUs(0)
                .setInferenceUs(inferenceUs).setProcessingUs(inferenceUs).setEndToEndUs(inferenceUs).build();
    }
}
