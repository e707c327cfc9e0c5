package dev.streamformer.schemas.serde;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Map;

import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.MissingSchemaException;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.Test;

import dev.streamformer.schemas.TokenizedInput;

/**
 * Requests of both schema versions, the fingerprints published for other languages, and the wrong
 * fingerprint Apache Avro's Python library writes.
 */
class SchemaEvolutionTest {

    private static final Schema V1 = StreamformerSerdes.tokenizedInputV1();

    @Test
    void aTokenIdRequestWrittenWithVersion1IsReadByTheNewReaderWithoutText() throws Exception {
        final GenericRecord old = new GenericData.Record(V1);
        old.put("request_id", "v1-1");
        old.put("token_ids", List.of(2, 9, 3));
        old.put("created_at", 1_700_000_000_000L);
        old.put("metadata", Map.of());
        final TokenizedInput read = StreamformerSerdes.tokenizedInput().deserialize("t", encode(V1, old, Fingerprints.of(V1)));
        assertThat(read.getRequestId()).isEqualTo("v1-1");
        assertThat(read.getTokenIds()).containsExactly(2, 9, 3);
        assertThat(read.getText()).isNull();
    }

    @Test
    void predictionsAndLatencyEventsOfVersion1AreReadWithoutTheLayersTheyDidNotRecord() throws Exception {
        final Schema predictionV1 = StreamformerSerdes.schemas().get("Prediction version 1");
        final GenericRecord p = new GenericData.Record(predictionV1);
        p.put("request_id", "p-1");
        p.put("model_name", "m");
        p.put("model_version", "v");
        p.put("label", "spam");
        p.put("label_index", 1);
        p.put("probabilities", Map.of("ham", 0.1, "spam", 0.9));
        p.put("num_tokens", 12);
        p.put("truncated", false);
        p.put("created_at", 1_700_000_000_000L);
        p.put("predicted_at", 1_700_000_000_100L);
        final dev.streamformer.schemas.Prediction read = StreamformerSerdes.prediction().deserialize("t",
                encode(predictionV1, p, Fingerprints.of(predictionV1)));
        assertThat(read.getRequestId()).isEqualTo("p-1");
        assertThat(read.getExitLayer()).as("an old processor recorded no exit layer").isNull();
        final dev.streamformer.schemas.Prediction now = dev.streamformer.schemas.Prediction.newBuilder(read)
                .setExitLayer(2).build();
        assertThat(StreamformerSerdes.prediction().deserialize("t", StreamformerSerdes.prediction().serialize("t", now))
                .getExitLayer()).isEqualTo(2);

        final Schema latencyV1 = StreamformerSerdes.schemas().get("LatencyEvent version 1");
        final GenericRecord e = new GenericData.Record(latencyV1);
        for (final Schema.Field f : latencyV1.getFields()) {
            e.put(f.name(), switch (f.schema().getType()) {
                case STRING -> "x";
                case INT -> 1;
                default -> 1L;
            });
        }
        final dev.streamformer.schemas.LatencyEvent event = StreamformerSerdes.latencyEvent().deserialize("t",
                encode(latencyV1, e, Fingerprints.of(latencyV1)));
        assertThat(event.getLayersRun()).isNull();
        assertThat(event.getBatchSize()).isEqualTo(1);
    }

    @Test
    void aTextRequestOfVersion2IsUnknownToAVersion1ReaderWhichSaysSoInsteadOfFailingElsewhere() {
        final TokenizedInput text = TokenizedInput.newBuilder().setRequestId("v2-1").setText("free money")
                .setCreatedAt(java.time.Instant.ofEpochMilli(1)).build();
        assertThat(text.getTokenIds()).as("token_ids defaults to empty").isEmpty();
        final byte[] bytes = StreamformerSerdes.tokenizedInput().serialize("t", text);
        // The reader of a processor built before version 2: it knows version 1 only.
        final BinaryMessageDecoder<GenericRecord> oldReader = new BinaryMessageDecoder<>(GenericData.get(), V1);
        assertThatThrownBy(() -> oldReader.decode(bytes)).isInstanceOf(MissingSchemaException.class);
        // The processor turns exactly that into a DESERIALIZATION dead letter (PoisonPillIT, UNKNOWN_FINGERPRINT).
    }

    @Test
    void thePublishedFingerprintsAreJavasSchemaNormalizationOnes() {
        for (final Map.Entry<String, Schema> e : StreamformerSerdes.schemas().entrySet()) {
            final long java = SchemaNormalization.parsingFingerprint64(e.getValue());
            assertThat(Fingerprints.of(e.getValue())).as(e.getKey())
                    .isEqualTo(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(java).array());
            assertThat(Fingerprints.canonicalForm(e.getValue(), false)).as(e.getKey() + ", our canonical form builder")
                    .isEqualTo(SchemaNormalization.toParsingForm(e.getValue()));
        }
        assertThat(StreamformerSerdes.tokenizedInput().knownFingerprints()).hasSize(2);
    }

    @Test
    void theReadmeListsEveryFingerprint() throws Exception {
        final String readme = java.nio.file.Files.readString(java.nio.file.Path.of("..", "README.md"));
        for (final Map.Entry<String, Schema> e : StreamformerSerdes.schemas().entrySet()) {
            assertThat(readme).as("README fingerprint row of " + e.getKey())
                    .contains("| " + e.getKey() + " | `" + Fingerprints.hex(Fingerprints.of(e.getValue())) + "` |");
        }
    }

    @Test
    void thePythonLibrarysWrongFingerprintIsNamedAsSuchInTheError() throws Exception {
        final Schema current = TokenizedInput.getClassSchema();
        assertThat(Fingerprints.canonicalForm(current, true))
                .contains("{\"name\":\"created_at\",\"type\":{\"type\":\"long\"}}");
        assertThat(Fingerprints.ofPythonAvro(current)).isNotEqualTo(Fingerprints.of(current));
        final TokenizedInput request = TokenizedInput.newBuilder().setRequestId("py").setTokenIds(List.of(2, 3))
                .setCreatedAt(java.time.Instant.ofEpochMilli(1)).build();
        final byte[] bytes = StreamformerSerdes.tokenizedInput().serialize("t", request);
        System.arraycopy(Fingerprints.ofPythonAvro(current), 0, bytes, 2, 8);
        final String wrong = Fingerprints.hex(Fingerprints.ofPythonAvro(current));
        assertThatThrownBy(() -> StreamformerSerdes.tokenizedInput().deserialize("requests", bytes))
                .isInstanceOf(SerializationException.class)
                .hasMessageContaining("carries schema fingerprint " + wrong)
                .hasMessageContaining("Apache Avro's Python library")
                .hasMessageContaining(Fingerprints.hex(Fingerprints.of(current)) + " TokenizedInput (current)");
    }

    @Test
    void anUnknownFingerprintIsNamedWithTheOnesThisReaderKnows() throws Exception {
        final TokenizedInput request = TokenizedInput.newBuilder().setRequestId("x").setTokenIds(List.of(2, 3))
                .setCreatedAt(java.time.Instant.ofEpochMilli(1)).build();
        final byte[] bytes = StreamformerSerdes.tokenizedInput().serialize("t", request);
        for (int i = 2; i < 10; i++) {
            bytes[i] = (byte) (0x10 + i);
        }
        assertThatThrownBy(() -> StreamformerSerdes.tokenizedInput().deserialize("requests", bytes))
                .isInstanceOf(SerializationException.class)
                .hasMessageContaining("fingerprint 1213141516171819")
                .hasMessageContaining(Fingerprints.hex(Fingerprints.of(TokenizedInput.getClassSchema())))
                .hasMessageContaining(Fingerprints.hex(Fingerprints.of(V1)) + " TokenizedInput version 1");
    }

    private static byte[] encode(final Schema schema, final GenericRecord record, final byte[] fingerprint)
            throws Exception {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(new byte[] {(byte) 0xC3, 0x01});
        out.write(fingerprint);
        final BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
        new GenericDatumWriter<GenericRecord>(schema).write(record, encoder);
        encoder.flush();
        return out.toByteArray();
    }
}
