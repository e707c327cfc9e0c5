package dev.streamformer.schemas.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.Test;

import dev.streamformer.schemas.DeadLetter;
import dev.streamformer.schemas.ErrorKind;
import dev.streamformer.schemas.Prediction;
import dev.streamformer.schemas.TokenizedInput;
import dev.streamformer.schemas.serde.StreamformerSerdes;

class WireFormatTest {

    private static final TokenizedInput REQUEST = TokenizedInput.newBuilder().setRequestId("r").setTokenIds(List.of(2, 3))
            .setCreatedAt(Instant.ofEpochMilli(5)).build();

    @Test
    void tellsTheFormatsApartByTheirFirstBytes() {
        assertThat(WireFormat.of(StreamformerSerdes.tokenizedInput().serialize("t", REQUEST))).isEqualTo(WireFormat.AVRO);
        assertThat(WireFormat.of(new byte[] {0, 0, 0, 0, 7, 2})).isEqualTo(WireFormat.CONFLUENT);
        assertThat(WireFormat.of(" \n{\"request_id\":\"r\"}".getBytes(StandardCharsets.UTF_8))).isEqualTo(WireFormat.JSON);
        assertThat(WireFormat.of("hello".getBytes(StandardCharsets.UTF_8))).isNull();
        assertThat(WireFormat.of(new byte[0])).isNull();
    }

    @Test
    void theDecoderReadsSingleObjectAndJsonWithoutARegistry() {
        final RequestDecoder decoder = new RequestDecoder(null);
        assertThat(decoder.decode("t", StreamformerSerdes.tokenizedInput().serialize("t", REQUEST), 0)).isEqualTo(REQUEST);
        assertThat(decoder.decode("t", "{\"request_id\":\"r\",\"token_ids\":[2,3],\"created_at\":5}"
                .getBytes(StandardCharsets.UTF_8), 0)).isEqualTo(REQUEST);
    }

    @Test
    void aFramedRequestWithoutARegistrySaysWhichSettingToSet() {
        assertThatThrownBy(() -> new RequestDecoder(null).decode("t", new byte[] {0, 0, 0, 0, 42, 2, 4}, 0))
                .isInstanceOf(SerializationException.class)
                .hasMessageContaining("schema id 42").hasMessageContaining("streamformer.schema.registry.url");
    }

    @Test
    void anUnknownFormatNamesTheThreeItReads() {
        assertThatThrownBy(() -> new RequestDecoder(null).decode("t", "spam".getBytes(StandardCharsets.UTF_8), 0))
                .isInstanceOf(SerializationException.class).hasMessageContaining("starts with 73")
                .hasMessageContaining("single-object").hasMessageContaining("framing").hasMessageContaining("JSON");
    }

    @Test
    void outputsRoundTripThroughJson() {
        final Prediction p = Prediction.newBuilder().setRequestId("r").setModelName("m").setModelVersion("v").setLabel("spam")
                .setLabelIndex(1).setProbabilities(Map.of("ham", 0.25, "spam", 0.75)).setNumTokens(3)
                .setCreatedAt(Instant.ofEpochMilli(5)).setPredictedAt(Instant.ofEpochMilli(9)).setExitLayer(2).build();
        final String json = new String(JsonRecords.write(p), StandardCharsets.UTF_8);
        assertThat(json).contains("\"request_id\":\"r\"", "\"predicted_at\":9", "\"exit_layer\":2", "\"spam\":0.75");
        assertThat(JsonRecords.read(json.getBytes(StandardCharsets.UTF_8), Prediction.class)).isEqualTo(p);

        final DeadLetter d = DeadLetter.newBuilder().setSourceTopic("t").setSourcePartition(0).setSourceOffset(4)
                .setKey(null).setValue(ByteBuffer.wrap(new byte[] {1, 2, (byte) 0xff})).setErrorKind(ErrorKind.VALIDATION)
                .setErrorMessage("why").setFailedAt(Instant.ofEpochMilli(7)).build();
        final String dj = new String(JsonRecords.write(d), StandardCharsets.UTF_8);
        assertThat(dj).contains("\"value\":\"AQL/\"", "\"key\":null", "\"error_kind\":\"VALIDATION\"", "\"request_id\":null");
        assertThat(JsonRecords.read(dj.getBytes(StandardCharsets.UTF_8), DeadLetter.class)).isEqualTo(d);
    }

    @Test
    void theRegistryFramingWithoutARegistryIsAConfigurationError() {
        assertThatThrownBy(() -> new WireSerdes(WireFormat.CONFLUENT, null))
                .hasMessageContaining("streamformer.schema.registry.url");
        assertThat(WireFormat.parse("JSON")).isEqualTo(WireFormat.JSON);
        assertThatThrownBy(() -> WireFormat.parse("protobuf")).hasMessageContaining("avro, confluent, json");
    }
}
