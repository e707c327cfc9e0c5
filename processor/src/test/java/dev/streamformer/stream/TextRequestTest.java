package dev.streamformer.stream;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import dev.streamformer.model.DefaultModel;
import dev.streamformer.schemas.DeadLetter;
import dev.streamformer.schemas.ErrorKind;
import dev.streamformer.schemas.Prediction;
import dev.streamformer.schemas.TokenizedInput;
import dev.streamformer.schemas.serde.Fingerprints;
import dev.streamformer.schemas.serde.StreamformerSerdes;
import dev.streamformer.text.TextTokenizer;

/**
 * Requests that carry text, tokenized by the processor with the shipped model's tokenizer; requests
 * of the first schema version; and the dead-letter headers Kafka's tooling reads.
 */
class TextRequestTest {

    private static final String TEXT = "Cheap meds, no prescription needed! Click here to order now";

    private TopologyTestDriver driver;
    private TestInputTopic<byte[], byte[]> requests;
    private TestOutputTopic<String, Prediction> predictions;
    private TestOutputTopic<byte[], DeadLetter> deadLetters;

    private void start(final Map<String, String> extra) {
        final Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "text-test");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        props.put(StreamformerConfig.BATCH_SIZE_CONFIG, "1");
        props.putAll(extra);
        final ProcessorDriver d = ProcessorDriver.start(props, new ModelRegistry());
        driver = d.driver();
        requests = d.requests();
        predictions = d.predictions();
        deadLetters = d.deadLetters();
    }

    @AfterEach
    void stop() {
        driver.close();
    }

    private void send(final String id, final byte[] value, final Headers headers) {
        requests.pipeInput(new TestRecord<>(id.getBytes(StandardCharsets.UTF_8), value, headers, Instant.ofEpochMilli(5_000)));
    }

    private static byte[] text(final String id, final String text, final List<Integer> ids) {
        return StreamformerSerdes.tokenizedInput().serialize("t", TokenizedInput.newBuilder().setRequestId(id)
                .setText(text).setTokenIds(ids).setCreatedAt(Instant.ofEpochMilli(1_000)).build());
    }

    @Test
    void aTextRequestIsTokenizedWithTheModelsTokenizerAndPredictedLikeItsTokenIds() throws Exception {
        start(Map.of());
        final int[] ids;
        try (TextTokenizer tokenizer = TextTokenizer.load(DefaultModel.directory(), 128)) {
            ids = tokenizer.encode(TEXT);
        }
        send("t-1", text("t-1", TEXT, List.of()), new RecordHeaders());
        send("i-1", StreamformerSerdes.tokenizedInput().serialize("t", TokenizedInput.newBuilder().setRequestId("i-1")
                .setTokenIds(java.util.Arrays.stream(ids).boxed().toList()).setCreatedAt(Instant.ofEpochMilli(1_000))
                .build()), new RecordHeaders());
        final List<Prediction> out = predictions.readValuesToList();
        assertThat(out).extracting(Prediction::getRequestId).containsExactly("t-1", "i-1");
        assertThat(out.get(0).getNumTokens()).as("tokens used").isEqualTo(ids.length);
        assertThat(out.get(0).getTruncated()).isFalse();
        assertThat(out.get(0).getProbabilities()).as("the same tokens, the same prediction")
                .isEqualTo(out.get(1).getProbabilities());
        assertThat(out.get(0).getLabel()).isEqualTo("spam");
    }

    @Test
    void aLongTextIsCutToTheConfiguredTokensAndMarkedTruncated() {
        start(Map.of(StreamformerConfig.TEXT_MAX_TOKENS_CONFIG, "16"));
        send("long", text("long", "free money ".repeat(200), List.of()), new RecordHeaders());
        final Prediction p = predictions.readValue();
        assertThat(p.getNumTokens()).isEqualTo(16);
        assertThat(p.getTruncated()).isTrue();
    }

    @Test
    void aLongTextIsCutByDefaultToTheLengthTheModelWasTrainedAt() {
        start(Map.of());
        send("long", text("long", "free money ".repeat(200), List.of()), new RecordHeaders());
        final Prediction p = predictions.readValue();
        assertThat(p.getNumTokens()).as("the shipped model's input length, not its 256 positions").isEqualTo(128);
        assertThat(p.getTruncated()).isTrue();
    }

    @Test
    void emptyAndBlankTextAndOnlySpecialTokenIdsAreValidationDeadLetters() {
        start(Map.of());
        send("empty", text("empty", "", List.of()), new RecordHeaders());
        send("blank", text("blank", " \t\n ", List.of()), new RecordHeaders());
        send("special", StreamformerSerdes.tokenizedInput().serialize("t", TokenizedInput.newBuilder()
                .setRequestId("special").setTokenIds(List.of(2, 3)).setCreatedAt(Instant.ofEpochMilli(1_000)).build()),
                new RecordHeaders());
        send("unknown", text("unknown", "ꙮꙮ", List.of()), new RecordHeaders());
        final List<DeadLetter> letters = deadLetters.readValuesToList();
        assertThat(letters).hasSize(3).allSatisfy(d -> {
            assertThat(d.getErrorKind()).isEqualTo(ErrorKind.VALIDATION);
            assertThat(d.getErrorMessage()).startsWith("the text is empty").contains("2 [CLS], 3 [SEP]");
        });
        assertThat(predictions.readValuesToList()).as("a text of characters the vocabulary lacks is still text")
                .extracting(Prediction::getRequestId).containsExactly("unknown");
    }

    @Test
    void textWithTokenIdsIsDeadLetteredWithKafkaStreamsHeadersAndTheRecordsOwn() {
        start(Map.of());
        final Headers headers = new RecordHeaders().add("trace-id", "abc-123".getBytes(StandardCharsets.UTF_8));
        send("both", text("both", TEXT, List.of(2, 3)), headers);
        final TestRecord<byte[], DeadLetter> letter = deadLetters.readRecord();
        assertThat(letter.value().getErrorKind()).isEqualTo(ErrorKind.VALIDATION);
        assertThat(letter.value().getErrorMessage()).contains("both text and 2 token_ids");
        final Headers h = letter.headers();
        assertThat(header(h, "trace-id")).as("the record's own header, kept").isEqualTo("abc-123");
        assertThat(header(h, "__streams.errors.exception"))
                .startsWith("dev.streamformer.model.InvalidInputException: ");
        assertThat(header(h, "__streams.errors.message")).isEqualTo(letter.value().getErrorMessage());
        assertThat(header(h, "__streams.errors.stacktrace")).contains("at dev.streamformer.stream.RequestValidator");
        assertThat(header(h, "__streams.errors.topic")).isEqualTo("streamformer-requests");
        assertThat(header(h, "__streams.errors.partition")).isEqualTo("0");
        assertThat(header(h, "__streams.errors.offset")).isEqualTo("0");
        assertThat(predictions.isEmpty()).isTrue();
    }

    @Test
    void aTokenIdRequestWrittenWithTheFirstSchemaVersionIsServed() throws Exception {
        start(Map.of());
        final Schema v1 = StreamformerSerdes.tokenizedInputV1();
        final GenericRecord old = new GenericData.Record(v1);
        old.put("request_id", "v1");
        old.put("token_ids", List.of(2, 1500, 1600, 3));
        old.put("created_at", 1_000L);
        old.put("metadata", Map.of());
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        bytes.write(new byte[] {(byte) 0xC3, 0x01});
        bytes.write(Fingerprints.of(v1));
        final BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(bytes, null);
        new GenericDatumWriter<GenericRecord>(v1).write(old, encoder);
        encoder.flush();
        send("v1", bytes.toByteArray(), new RecordHeaders());
        final Prediction p = predictions.readValue();
        assertThat(p.getRequestId()).isEqualTo("v1");
        assertThat(p.getNumTokens()).isEqualTo(4);
        assertThat(deadLetters.isEmpty()).isTrue();
    }

    private static String header(final Headers headers, final String key) {
        return headers.lastHeader(key) == null ? null
                : new String(headers.lastHeader(key).value(), StandardCharsets.UTF_8);
    }
}
