package dev.streamformer.schemas.serde;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.util.List;
import java.util.Map;

import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.Test;

import dev.streamformer.schemas.DeadLetter;
import dev.streamformer.schemas.ErrorKind;
import dev.streamformer.schemas.TokenizedInput;

class SingleObjectSerdeTest {

    private static final String OLD_REQUEST_SCHEMA = """
            {"type": "record", "name": "TokenizedInput", "namespace": "dev.streamformer.schemas",
             "fields": [
               {"name": "request_id", "type": "string"},
               {"name": "token_ids", "type": {"type": "array", "items": "int"}},
               {"name": "created_at", "type": "long"}
             ]}""";

    private static TokenizedInput request() {
        return TokenizedInput.newBuilder()
                .setRequestId("r-1")
                .setTokenIds(List.of(2, 17, 3))
                .setCreatedAt(java.time.Instant.ofEpochMilli(1_700_000_000_000L))
                .setMetadata(Map.of("source", "test"))
                .build();
    }

    @Test
    void aLargeRecordIsReadWholeAndItsBytesAreNotKeptOnceRead() throws Exception {
        final List<Integer> ids = java.util.stream.IntStream.range(0, 500_000).map(i -> 100_000 + i).boxed().toList();
        final SingleObjectSerde<TokenizedInput> serde = StreamformerSerdes.tokenizedInput();
        final TokenizedInput big = TokenizedInput.newBuilder().setRequestId("big").setTokenIds(ids)
                .setCreatedAt(java.time.Instant.EPOCH).setMetadata(Map.of()).build();
        byte[] bytes = serde.serialize("t", big);
        assertThat(bytes.length).as("above the size read through a stream that forgets").isGreaterThan(1 << 20);
        final java.lang.ref.WeakReference<byte[]> read = new java.lang.ref.WeakReference<>(bytes);
        // Avro's decoder keeps the last input of the thread that decoded it: this one stays alive.
        final TokenizedInput[] decoded = new TokenizedInput[1];
        final byte[][] handed = {bytes};
        bytes = null;
        final java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(1);
        final java.util.concurrent.CountDownLatch checked = new java.util.concurrent.CountDownLatch(1);
        final Thread reader = new Thread(() -> {
            decoded[0] = serde.deserialize("t", handed[0]);
            handed[0] = null;
            done.countDown();
            try {
                checked.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        reader.start();
        done.await();
        try {
            assertThat(decoded[0]).isEqualTo(big);
            for (int i = 0; i < 20 && read.get() != null; i++) {
                System.gc();
                Thread.sleep(50);
            }
            assertThat(read.get()).as("the record's bytes, once read, while the reading thread lives").isNull();
        } finally {
            checked.countDown();
            reader.join();
        }
    }

    @Test
    void roundTripsARequestWithTheSingleObjectHeader() {
        final SingleObjectSerde<TokenizedInput> serde = StreamformerSerdes.tokenizedInput();
        final byte[] bytes = serde.serialize("t", request());
        assertThat(bytes[0]).isEqualTo((byte) 0xC3);
        assertThat(bytes[1]).isEqualTo((byte) 0x01);
        final long fingerprint = SchemaNormalization.parsingFingerprint64(TokenizedInput.getClassSchema());
        long written = 0;
        for (int i = 0; i < 8; i++) {
            written |= (bytes[2 + i] & 0xFFL) << (8 * i);
        }
        assertThat(written).isEqualTo(fingerprint);
        assertThat(serde.deserialize("t", bytes)).isEqualTo(request());
    }

    @Test
    void roundTripsADeadLetterWithRawBytes() {
        final DeadLetter letter = DeadLetter.newBuilder()
                .setSourceTopic("requests").setSourcePartition(3).setSourceOffset(42)
                .setKey(java.nio.ByteBuffer.wrap(new byte[] {1, 2}))
                .setValue(java.nio.ByteBuffer.wrap(new byte[] {(byte) 0xFF}))
                .setErrorKind(ErrorKind.DESERIALIZATION).setErrorMessage("bad").setFailedAt(java.time.Instant.ofEpochMilli(5L))
                .build();
        final SingleObjectSerde<DeadLetter> serde = StreamformerSerdes.deadLetter();
        assertThat(serde.deserialize("d", serde.serialize("d", letter))).isEqualTo(letter);
    }

    @Test
    void rejectsGarbageBytesWithAClearSerializationException() {
        final SingleObjectSerde<TokenizedInput> serde = StreamformerSerdes.tokenizedInput();
        assertThatThrownBy(() -> serde.deserialize("requests", new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}))
                .isInstanceOf(SerializationException.class)
                .hasMessageContaining("not an Avro single-object encoded TokenizedInput")
                .hasMessageContaining("requests");
    }

    @Test
    void rejectsTruncatedBodies() {
        final SingleObjectSerde<TokenizedInput> serde = StreamformerSerdes.tokenizedInput();
        final byte[] bytes = serde.serialize("t", request());
        final byte[] cut = java.util.Arrays.copyOf(bytes, 13);
        assertThatThrownBy(() -> serde.deserialize("requests", cut))
                .isInstanceOf(SerializationException.class)
                .hasMessageContaining("corrupt body");
    }

    @Test
    void readsAnOlderWriterSchemaOnceRegistered() throws Exception {
        final Schema old = new Schema.Parser().parse(OLD_REQUEST_SCHEMA);
        final byte[] bytes = encodeWith(old);
        final SingleObjectSerde<TokenizedInput> serde = StreamformerSerdes.tokenizedInput();
        assertThatThrownBy(() -> serde.deserialize("requests", bytes))
                .isInstanceOf(SerializationException.class)
                .hasMessageContaining("schema this reader does not know");

        serde.registerWriterSchema(old);
        final TokenizedInput read = serde.deserialize("requests", bytes);
        assertThat(read.getRequestId()).isEqualTo("old-1");
        assertThat(read.getTokenIds()).containsExactly(2, 9, 3);
        assertThat(read.getAttentionMask()).isNull();
        assertThat(read.getMetadata()).isEmpty();
    }

    private static byte[] encodeWith(final Schema schema) throws Exception {
        final GenericRecord record = new GenericData.Record(schema);
        record.put("request_id", "old-1");
        record.put("token_ids", List.of(2, 9, 3));
        record.put("created_at", 1L);
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(new byte[] {(byte) 0xC3, 0x01});
        final long fingerprint = SchemaNormalization.parsingFingerprint64(schema);
        for (int i = 0; i < 8; i++) {
            out.write((int) (fingerprint >>> (8 * i)) & 0xFF);
        }
        final BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
        new GenericDatumWriter<GenericRecord>(schema).write(record, encoder);
        encoder.flush();
        return out.toByteArray();
    }
}
