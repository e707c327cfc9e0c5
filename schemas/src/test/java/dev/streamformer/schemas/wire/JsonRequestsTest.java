package dev.streamformer.schemas.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import dev.streamformer.schemas.TokenizedInput;

class JsonRequestsTest {

    private static TokenizedInput read(final String json) {
        return JsonRequests.read(json.getBytes(StandardCharsets.UTF_8), 1_700_000_000_000L);
    }

    @Test
    void readsEveryField() {
        final TokenizedInput r = read("""
                {"request_id": "r1", "token_ids": [2, 10, 3], "attention_mask": [1, 1, 1], "segment_ids": null,
                 "model": "spam", "created_at": 1765000000000, "metadata": {"source": "web"}}""");
        assertThat(r.getRequestId()).isEqualTo("r1");
        assertThat(r.getTokenIds()).containsExactly(2, 10, 3);
        assertThat(r.getAttentionMask()).containsExactly(1, 1, 1);
        assertThat(r.getSegmentIds()).isNull();
        assertThat(r.getModel()).isEqualTo("spam");
        assertThat(r.getCreatedAt()).isEqualTo(Instant.ofEpochMilli(1765000000000L));
        assertThat(r.getMetadata()).isEqualTo(Map.of("source", "web"));
        assertThat(r.getText()).isNull();
    }

    @Test
    void aTextRequestTakesTheRecordTimestampWhenItHasNoCreatedAt() {
        final TokenizedInput r = read("  {\"request_id\": \"t1\", \"text\": \"Win a prize now\"}\n");
        assertThat(r.getText()).isEqualTo("Win a prize now");
        assertThat(r.getTokenIds()).isEmpty();
        assertThat(r.getCreatedAt()).isEqualTo(Instant.ofEpochMilli(1_700_000_000_000L));
        assertThat(read("{\"request_id\": \"t2\", \"text\": \"x\", \"created_at\": \"2026-12-06T15:00:00Z\"}").getCreatedAt())
                .isEqualTo(Instant.parse("2026-12-06T15:00:00Z"));
    }

    @Test
    void takesTheNamesAHuggingFaceTokenizerWrites() {
        final TokenizedInput r = read("{\"request_id\": \"h\", \"input_ids\": [2, 5, 3], \"token_type_ids\": [0, 0, 0]}");
        assertThat(r.getTokenIds()).containsExactly(2, 5, 3);
        assertThat(r.getSegmentIds()).containsExactly(0, 0, 0);
    }

    /** Ten kinds of bad JSON; each message names what is wrong and where. */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            truncated object            | {"request_id": "a", "text": "x"                 | malformed
            not an object               | ["request_id", "a"]                               | is a JSON array, not an object at $
            missing request id          | {"text": "hello"}                                 | field "request_id" is missing
            request id not a string     | {"request_id": 42, "text": "x"}                   | field "request_id" is a number, not a string at $.request_id
            token ids not an array      | {"request_id": "a", "token_ids": "2 5 3"}         | field "token_ids" is a string, not an array of integers at $.token_ids
            token id not an integer     | {"request_id": "a", "token_ids": [2, 5.5, 3]}     | element 1 of "token_ids" is 5.5, not a 32-bit integer at $.token_ids[2]
            token id a string           | {"request_id": "a", "token_ids": [2, "5"]}        | an element of "token_ids" is a string, not an integer at $.token_ids[1]
            misspelt field              | {"request_id": "a", "txet": "hello"}              | unknown field "txet" at $.txet (line 1, column 27): did you mean "text"?
            metadata value not a string | {"request_id": "a", "text": "x", "metadata": {"n": 1}} | metadata "n" is a number, not a string at $.metadata.n
            field given twice           | {"request_id": "a", "text": "x", "text": "y"}     | field "text" given twice
            content after the object    | {"request_id": "a", "text": "x"} {"request_id": "b"} | more content after the request object
            created_at not a time       | {"request_id": "a", "text": "x", "created_at": "yesterday"} | field "created_at" is "yesterday", not an ISO-8601 instant at $.created_at
            """)
    void badJsonNamesTheFieldAndThePosition(final String kind, final String json, final String expected) {
        assertThatThrownBy(() -> read(json)).isInstanceOf(SerializationException.class)
                .hasMessageStartingWith("JSON request")
                .hasMessageContaining(expected);
    }

    @Test
    void aMalformedDocumentSaysLineAndColumn() {
        assertThatThrownBy(() -> read("{\"request_id\": \"a\",\n \"text\": 'single quotes'}"))
                .hasMessageContaining("line 2 column").hasMessageContaining("malformed");
    }

    @Test
    void bytesThatAreNotUtf8AreNamedSo() {
        final byte[] bad = {'{', '"', 'r', (byte) 0xC3, (byte) 0x28, '"', '}'};
        assertThatThrownBy(() -> JsonRequests.read(bad, 0)).hasMessageContaining("not valid UTF-8");
    }

    @Test
    void everyFieldOfTheAvroSchemaIsAJsonField() {
        assertThat(TokenizedInput.getClassSchema().getFields().stream().map(f -> f.name()).toList())
                .containsExactlyInAnyOrderElementsOf(JsonRequests.FIELDS.values().stream().distinct().toList());
        assertThat(List.copyOf(JsonRequests.FIELDS.keySet())).contains("input_ids", "token_type_ids");
    }
}
