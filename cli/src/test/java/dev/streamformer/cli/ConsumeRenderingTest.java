package dev.streamformer.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.Base64;

import org.junit.jupiter.api.Test;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import dev.streamformer.schemas.DeadLetter;
import dev.streamformer.schemas.ErrorKind;

/** How consume prints a dead letter: the original bytes must be recoverable. */
class ConsumeRenderingTest {

    @Test
    void aDeadLettersOriginalKeyAndValueArePrintedInBase64() {
        final byte[] value = {(byte) 0xC3, 0x01, 0x00, (byte) 0xFF, 0x7F};
        final DeadLetter d = DeadLetter.newBuilder().setSourceTopic("streamformer-requests").setSourcePartition(2)
                .setSourceOffset(41).setRequestId(null).setKey(ByteBuffer.wrap("req-1".getBytes()))
                .setValue(ByteBuffer.wrap(value)).setErrorKind(ErrorKind.DESERIALIZATION)
                .setErrorMessage("not Avro").setFailedAt(Instant.ofEpochMilli(0)).build();
        final JsonObject json = JsonParser.parseString(ConsumeCommand.deadLetterJson(d)).getAsJsonObject();
        assertThat(Base64.getDecoder().decode(json.get("value").getAsString())).containsExactly(value);
        assertThat(new String(Base64.getDecoder().decode(json.get("key").getAsString()))).isEqualTo("req-1");
        assertThat(json.get("bytes_encoding").getAsString()).isEqualTo("base64");
        assertThat(json.get("error_kind").getAsString()).isEqualTo("DESERIALIZATION");
        assertThat(json.get("source_offset").getAsString()).isEqualTo("41");
        assertThat(json.get("request_id").isJsonNull()).isTrue();
    }

    @Test
    void monitorPrintsAStatisticsWindowAsAHeadingAndATableInMilliseconds() {
        final dev.streamformer.schemas.DurationStats d = dev.streamformer.schemas.DurationStats.newBuilder()
                .setP50Us(1_500).setP95Us(2_500).setP99Us(3_000).setMaxUs(4_000).build();
        final dev.streamformer.schemas.LatencyStats s = dev.streamformer.schemas.LatencyStats.newBuilder()
                .setModelVersion("abc").setWindowStart(java.time.Instant.ofEpochSecond(0))
                .setWindowEnd(java.time.Instant.ofEpochSecond(10)).setCount(120).setRecordsPerSecond(12.0)
                .setQueueing(d).setBatchWait(d).setInference(d).setProcessing(d).setEndToEnd(d).setBatchSizeMean(7.5)
                .setBatchSizeMax(8).setRelativeError(0.01).build();
        final String text = MonitorCommand.render(s);
        org.assertj.core.api.Assertions.assertThat(text).contains("model abc: 12.0 records/s (120), batch mean 7.5 max 8")
                .contains("within 1 %").containsPattern("inference +1\\.50 +2\\.50 +3\\.00 +4\\.00");
    }
}
