package dev.streamformer.stream;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Test;

import dev.streamformer.schemas.BufferedRequest;
import dev.streamformer.schemas.TokenizedInput;
import dev.streamformer.schemas.serde.Fingerprints;
import dev.streamformer.schemas.serde.StreamformerSerdes;

/** The batch buffer's entries: a versioned Avro record, and the unversioned layout of the processor before it. */
class BatchBufferTest {

    /** Entries the processor of commit 9bf0de3 wrote (see the fixture's header). */
    static List<byte[]> unversionedFixture() throws IOException {
        try (InputStream in = BatchBufferTest.class.getResourceAsStream("batch-buffer-entries-unversioned.tsv")) {
            final List<byte[]> out = new ArrayList<>();
            for (final String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (!line.isBlank() && !line.startsWith("#")) {
                    out.add(Base64.getDecoder().decode(line.split("\t")[1]));
                }
            }
            return out;
        }
    }

    @Test
    void readsTheEntriesTheProcessorBeforeTheVersionedFormatWrote() throws IOException {
        final List<byte[]> fixture = unversionedFixture();
        assertThat(fixture).hasSize(5);
        for (int i = 0; i < fixture.size(); i++) {
            final BufferedRequest e = BatchBuffer.decode(fixture.get(i));
            assertThat(e.getTopic()).isEqualTo("upgrade-requests");
            assertThat(e.getPartition()).isZero();
            assertThat(e.getOffset()).isEqualTo(i);
            assertThat(e.getTimestamp()).isEqualTo(1_765_000_000_000L + i);
            assertThat(BatchBuffer.bytes(e.getKey())).asString(StandardCharsets.UTF_8).isEqualTo("upgrade-" + i);
            assertThat(e.getReceivedAtUs()).isEqualTo(1_765_000_000_100_000L + i * 1000L);
            assertThat(e.getHeaders()).hasSize(1);
            assertThat(e.getHeaders().get(0).getKey()).isEqualTo("trace-id");
            assertThat(BatchBuffer.bytes(e.getHeaders().get(0).getValue())).asString(StandardCharsets.UTF_8)
                    .isEqualTo("trace-" + i);
            final TokenizedInput request = StreamformerSerdes.tokenizedInput().deserialize("upgrade-requests",
                    BatchBuffer.bytes(e.getValue()));
            assertThat(request.getRequestId()).isEqualTo("upgrade-" + i);
            assertThat(request.getText()).isNotBlank();
        }
    }

    @Test
    void writesEntriesAsABufferedRequestWhoseFingerprintNamesItsVersion() {
        final RecordHeaders headers = new RecordHeaders();
        headers.add("a", new byte[] {1, 2});
        headers.add("empty", null);
        final BufferedRequest entry = BatchBuffer.entry("t", 3, 42, 1_000, null, new byte[] {7}, 5_000, headers);
        final byte[] written = StreamformerSerdes.bufferedRequest().serialize("t", entry);
        assertThat(written[0]).isEqualTo((byte) 0xC3);
        assertThat(written[1]).isEqualTo((byte) 0x01);
        assertThat(java.util.Arrays.copyOfRange(written, 2, 10))
                .isEqualTo(Fingerprints.of(BufferedRequest.getClassSchema()));
        final BufferedRequest read = BatchBuffer.decode(written);
        assertThat(read).isEqualTo(entry);
        assertThat(read.getKey()).isNull();
        assertThat(read.getHeaders()).extracting(h -> h.getKey()).containsExactly("a", "empty");
        assertThat(read.getHeaders().get(1).getValue()).isNull();
    }
}
