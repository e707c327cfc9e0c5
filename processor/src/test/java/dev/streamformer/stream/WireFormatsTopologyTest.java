package dev.streamformer.stream;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Properties;

import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import dev.streamformer.model.Activation;
import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.ModelConfig;
import dev.streamformer.model.SharingPlan;
import dev.streamformer.schemas.DeadLetter;
import dev.streamformer.schemas.ErrorKind;
import dev.streamformer.schemas.LatencyEvent;
import dev.streamformer.schemas.Prediction;
import dev.streamformer.schemas.TokenizedInput;
import dev.streamformer.schemas.serde.StreamformerSerdes;
import dev.streamformer.schemas.wire.JsonRecords;

/** Requests in every format on one topic, outputs in JSON, and headers carried from a request to its outputs. */
class WireFormatsTopologyTest {

    private static final String TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    @TempDir
    static Path modelDir;

    private TopologyTestDriver driver;
    private TestInputTopic<byte[], byte[]> requests;
    private TestOutputTopic<String, byte[]> predictions;
    private TestOutputTopic<String, byte[]> latency;
    private TestOutputTopic<byte[], byte[]> deadLetters;

    @BeforeAll
    static void writeModel() throws Exception {
        Checkpoint.random(new ModelConfig(200, 16, 32, 2, 4, 4, 64, 32, 2, Activation.GELU_NEW, 1e-12, true,
                SharingPlan.ALL, List.of("ham", "spam")), 3).save(modelDir);
    }

    private void start(final String outputFormat) {
        final Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "wire-test");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        props.put(StreamformerConfig.MODEL_DIR_CONFIG, modelDir.toString());
        props.put(StreamformerConfig.BATCH_SIZE_CONFIG, "4");
        props.put(StreamformerConfig.OUTPUT_FORMAT_CONFIG, outputFormat);
        final StreamformerAppConfig config = new StreamformerAppConfig(props);
        driver = new TopologyTestDriver(StreamformerTopology.build(config, new ModelCatalog(new StreamformerConfig(props),
                new ModelRegistry(), ServingMetrics.disabled())), props);
        requests = driver.createInputTopic(config.requestsTopic(), new ByteArraySerializer(), new ByteArraySerializer());
        predictions = driver.createOutputTopic(config.predictionsTopic(), new StringDeserializer(), new ByteArrayDeserializer());
        latency = driver.createOutputTopic(config.latencyTopic(), new StringDeserializer(), new ByteArrayDeserializer());
        deadLetters = driver.createOutputTopic(config.deadLettersTopic(), new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    @AfterEach
    void stop() {
        driver.close();
    }

    private void send(final String key, final byte[] value, final String traceparent) {
        final RecordHeaders headers = new RecordHeaders();
        headers.add("traceparent", traceparent.getBytes(StandardCharsets.UTF_8));
        headers.add("correlation-id", ("c-" + key).getBytes(StandardCharsets.UTF_8));
        headers.add("x-private", "not copied".getBytes(StandardCharsets.UTF_8));
        requests.pipeInput(new TestRecord<>(key.getBytes(StandardCharsets.UTF_8), value, headers, Instant.ofEpochMilli(5_000)));
    }

    private static String header(final TestRecord<?, ?> r, final String name) {
        final Header h = r.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    @Test
    void servesJsonAndAvroOnOneTopicAndWritesJson() {
        start("json");
        send("j-1", "{\"request_id\": \"j-1\", \"token_ids\": [2, 17, 33, 3]}".getBytes(StandardCharsets.UTF_8), TRACEPARENT);
        send("a-1", StreamformerSerdes.tokenizedInput().serialize("t", TokenizedInput.newBuilder().setRequestId("a-1")
                .setTokenIds(List.of(2, 17, 33, 3)).setCreatedAt(Instant.ofEpochMilli(1_000)).build()), TRACEPARENT);
        send("bad", "{\"request_id\": \"bad\", \"token_ids\": [2, \"x\"]}".getBytes(StandardCharsets.UTF_8), TRACEPARENT);
        send("j-2", "{\"request_id\": \"j-2\", \"input_ids\": [2, 17, 33, 3]}".getBytes(StandardCharsets.UTF_8), TRACEPARENT);
        driver.advanceWallClockTime(java.time.Duration.ofSeconds(1));

        final List<TestRecord<String, byte[]>> served = predictions.readRecordsToList();
        assertThat(served).extracting(TestRecord::key).containsExactly("j-1", "a-1", "j-2");
        final JsonObject first = JsonParser.parseString(new String(served.get(0).value(), StandardCharsets.UTF_8))
                .getAsJsonObject();
        assertThat(first.get("request_id").getAsString()).isEqualTo("j-1");
        assertThat(first.get("created_at").getAsLong()).as("a JSON request without created_at takes the record's timestamp")
                .isEqualTo(5_000);
        assertThat(first.getAsJsonObject("probabilities").keySet()).containsExactlyInAnyOrder("ham", "spam");
        // The same prediction whatever format the request came in.
        final Prediction a = JsonRecords.read(served.get(1).value(), Prediction.class);
        final Prediction j = JsonRecords.read(served.get(0).value(), Prediction.class);
        assertThat(a.getProbabilities()).isEqualTo(j.getProbabilities());

        final List<TestRecord<String, byte[]>> events = latency.readRecordsToList();
        assertThat(events).hasSize(3);
        assertThat(JsonRecords.read(events.get(0).value(), LatencyEvent.class).getRequestId()).isEqualTo("j-1");

        final TestRecord<byte[], byte[]> dead = deadLetters.readRecord();
        final DeadLetter d = JsonRecords.read(dead.value(), DeadLetter.class);
        assertThat(d.getErrorKind()).isEqualTo(ErrorKind.DESERIALIZATION);
        assertThat(d.getErrorMessage()).contains("$.token_ids[1]", "not an integer");
        assertThat(new String(d.getValue().array(), StandardCharsets.UTF_8)).contains("\"x\"");
        assertThat(deadLetters.isEmpty()).isTrue();
    }

    @Test
    void passesTheTraceContextAndCorrelationIdToEveryOutput() {
        start("avro");
        send("h-1", "{\"request_id\": \"h-1\", \"token_ids\": [2, 17, 3]}".getBytes(StandardCharsets.UTF_8), TRACEPARENT);
        send("h-2", "{\"request_id\": \"h-2\", \"token_ids\": []}".getBytes(StandardCharsets.UTF_8), TRACEPARENT);
        driver.advanceWallClockTime(java.time.Duration.ofSeconds(1));
        final TestRecord<byte[], byte[]> dead = deadLetters.readRecord();
        for (final TestRecord<?, ?> r : List.<TestRecord<?, ?>>of(predictions.readRecord(), latency.readRecord(), dead)) {
            assertThat(header(r, "traceparent")).isEqualTo(TRACEPARENT);
            assertThat(header(r, "correlation-id")).startsWith("c-h-");
        }
        assertThat(header(dead, "__streams.errors.message")).contains("empty");
    }

    @Test
    void copiesOnlyTheNamedHeadersToPredictions() {
        start("avro");
        send("p-1", "{\"request_id\": \"p-1\", \"token_ids\": [2, 17, 3]}".getBytes(StandardCharsets.UTF_8), TRACEPARENT);
        driver.advanceWallClockTime(java.time.Duration.ofSeconds(1));
        final TestRecord<String, byte[]> p = predictions.readRecord();
        assertThat(header(p, "x-private")).isNull();
        assertThat(StreamformerSerdes.prediction().deserialize("t", p.value()).getRequestId()).isEqualTo("p-1");
    }
}
