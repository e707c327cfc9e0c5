package dev.streamformer.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.errors.StreamsException;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.streamformer.model.Activation;
import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.EncoderInput;
import dev.streamformer.model.ModelConfig;
import dev.streamformer.model.SharingPlan;
import dev.streamformer.schemas.DeadLetter;
import dev.streamformer.schemas.ErrorKind;
import dev.streamformer.schemas.LatencyEvent;
import dev.streamformer.schemas.Prediction;
import dev.streamformer.schemas.TokenizedInput;
import dev.streamformer.schemas.serde.StreamformerSerdes;

class StreamformerTopologyTest {

    @TempDir
    static Path modelDir;

    private TopologyTestDriver driver;
    private TestInputTopic<byte[], byte[]> requests;
    private TestOutputTopic<String, Prediction> predictions;
    private TestOutputTopic<String, LatencyEvent> latency;
    private TestOutputTopic<byte[], DeadLetter> deadLetters;
    private ModelRegistry registry;

    @BeforeAll
    static void writeModel() throws Exception {
        final ModelConfig config = new ModelConfig(200, 16, 32, 3, 4, 4, 64, 32, 2, Activation.GELU_NEW, 1e-12,
                true, SharingPlan.ALL, List.of("ham", "spam"));
        Checkpoint.random(config, 3).save(modelDir);
    }

    @BeforeEach
    void start() {
        start(Map.of());
    }

    private void start(final Map<String, String> extra) {
        if (driver != null) {
            driver.close();
        }
        final Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "topology-test");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        props.put(StreamformerConfig.MODEL_DIR_CONFIG, modelDir.toString());
        props.put(StreamformerConfig.BATCH_SIZE_CONFIG, "1");
        props.putAll(extra);
        registry = new ModelRegistry();
        final ProcessorDriver d = ProcessorDriver.start(props, registry);
        driver = d.driver();
        requests = d.requests();
        predictions = d.predictions();
        latency = d.latency();
        deadLetters = d.deadLetters();
    }

    @AfterEach
    void stop() {
        driver.close();
    }

    private static TokenizedInput request(final String id, final Integer... ids) {
        return TokenizedInput.newBuilder().setRequestId(id).setTokenIds(Arrays.asList(ids))
                .setCreatedAt(Instant.ofEpochMilli(1_000)).build();
    }

    private void send(final TokenizedInput request) {
        requests.pipeInput(new TestRecord<>(request.getRequestId().getBytes(), StreamformerSerdes.tokenizedInput()
                .serialize("t", request), Instant.ofEpochMilli(5_000)));
    }

    @Test
    void predictsAValidRequestAndRecordsItsLatency() {
        send(request("r-1", 2, 17, 33, 3));
        final TestRecord<String, Prediction> p = predictions.readRecord();
        assertThat(p.key()).isEqualTo("r-1");
        assertThat(p.value().getRequestId()).isEqualTo("r-1");
        assertThat(p.value().getModelName()).isEqualTo(modelDir.getFileName().toString());
        assertThat(p.value().getModelVersion()).hasSize(16);
        assertThat(p.value().getNumTokens()).isEqualTo(4);
        assertThat(p.value().getTruncated()).isFalse();
        assertThat(p.value().getCreatedAt()).isEqualTo(Instant.ofEpochMilli(1_000));
        assertThat(p.value().getProbabilities().keySet()).containsExactly("ham", "spam");
        assertThat(p.value().getProbabilities().values().stream().mapToDouble(Double::doubleValue).sum())
                .isCloseTo(1.0, within(1e-5));
        assertThat(p.value().getLabel()).isEqualTo(p.value().getLabelIndex() == 0 ? "ham" : "spam");

        final LatencyEvent e = latency.readValue();
        assertThat(e.getRequestId()).isEqualTo("r-1");
        assertThat(e.getModelVersion()).isEqualTo(p.value().getModelVersion());
        assertThat(e.getSourceTopic()).isEqualTo("streamformer-requests");
        assertThat(e.getSourceOffset()).isZero();
        assertThat(e.getBatchSize()).isEqualTo(1);
        assertThat(e.getTaskId()).isEqualTo("0_0");
        assertThat(e.getRecordTimestampMs()).isEqualTo(Instant.ofEpochMilli(5_000));
        assertThat(e.getReceivedAtUs()).isLessThanOrEqualTo(e.getInferenceStartUs());
        assertThat(e.getInferenceStartUs()).isLessThan(e.getInferenceEndUs());
        assertThat(e.getInferenceEndUs()).isLessThanOrEqualTo(e.getHandedToKafkaUs());
        assertThat(e.getInferenceUs()).isEqualTo(e.getInferenceEndUs() - e.getInferenceStartUs());
        assertThat(e.getBatchWaitUs()).isEqualTo(e.getInferenceStartUs() - e.getReceivedAtUs());
        assertThat(e.getProcessingUs()).isEqualTo(e.getHandedToKafkaUs() - e.getReceivedAtUs());
        assertThat(e.getQueueingUs()).isEqualTo(e.getReceivedAtUs() - 5_000_000L);
        assertThat(e.getEndToEndUs()).isEqualTo(e.getHandedToKafkaUs() - 5_000_000L);
        assertThat(deadLetters.isEmpty()).isTrue();
    }

    @Test
    void deadLettersGarbageBytesWithTheOriginalBytes() {
        final byte[] garbage = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
        requests.pipeInput("k-1".getBytes(), garbage);
        final TestRecord<byte[], DeadLetter> d = deadLetters.readRecord();
        assertThat(d.key()).isEqualTo("k-1".getBytes());
        assertThat(d.value().getErrorKind()).isEqualTo(ErrorKind.DESERIALIZATION);
        assertThat(d.value().getErrorMessage()).contains("not a request in any format this processor reads", "starts with 01");
        assertThat(d.value().getValue().array()).isEqualTo(garbage);
        assertThat(d.value().getRequestId()).isEqualTo("k-1");
        assertThat(d.value().getSourceTopic()).isEqualTo("streamformer-requests");
        assertThat(predictions.isEmpty()).isTrue();
        assertThat(latency.isEmpty()).isTrue();
    }

    @Test
    void deadLettersANullValue() {
        requests.pipeInput("k-2".getBytes(), (byte[]) null);
        final DeadLetter d = deadLetters.readValue();
        assertThat(d.getErrorKind()).isEqualTo(ErrorKind.DESERIALIZATION);
        assertThat(d.getErrorMessage()).contains("null");
        assertThat(d.getValue()).isNull();
    }

    @Test
    void deadLettersEveryKindOfInvalidContent() {
        send(request("empty"));
        send(request("range", 2, 200, 3));
        send(request("negative", 2, -5, 3));
        send(request("long", Collections.nCopies(33, 5).toArray(new Integer[0])));
        send(TokenizedInput.newBuilder(request("mask", 2, 5, 3)).setAttentionMask(List.of(1, 1)).build());
        send(TokenizedInput.newBuilder(request("model", 2, 5, 3)).setModel("other-model").build());
        final List<DeadLetter> letters = deadLetters.readValuesToList();
        assertThat(letters).extracting(DeadLetter::getRequestId)
                .containsExactly("empty", "range", "negative", "long", "mask", "model");
        assertThat(letters).extracting(DeadLetter::getErrorKind).containsOnly(ErrorKind.VALIDATION);
        assertThat(letters.get(0).getErrorMessage()).startsWith("the token list is empty");
        assertThat(letters.get(1).getErrorMessage()).contains("token id 200").contains("[0, 200)");
        assertThat(letters.get(2).getErrorMessage()).contains("token id -5");
        assertThat(letters.get(3).getErrorMessage()).contains("more than max_position_embeddings=32");
        assertThat(letters.get(4).getErrorMessage()).contains("attention mask has 2 entries");
        assertThat(letters.get(5).getErrorMessage()).contains("asks for model 'other-model'");
        assertThat(predictions.isEmpty()).isTrue();
    }

    @Test
    void truncatesLongRequestsWhenConfigured() {
        start(Map.of(StreamformerConfig.TRUNCATE_CONFIG, "true"));
        send(request("long", Collections.nCopies(40, 5).toArray(new Integer[0])));
        final Prediction p = predictions.readValue();
        assertThat(p.getTruncated()).isTrue();
        assertThat(p.getNumTokens()).isEqualTo(32);
        assertThat(deadLetters.isEmpty()).isTrue();
    }

    @Test
    void anEngineWithItsSessionClosedFailsTheStreamThreadAndBlamesNoRequest() {
        // Closing the session under the processor makes the engine fail every pass, a probe too.
        try (ModelRegistry.Lease lease = registry.acquire(modelDir.toString())) {
            lease.model().close();
        }
        assertThatThrownBy(() -> send(request("doomed", 2, 5, 3))).isInstanceOf(StreamsException.class)
                .hasCauseInstanceOf(BatchRunner.EngineFailure.class)
                .cause().hasMessageContaining("failed a pass of 1 requests and a one-token probe");
        assertThat(deadLetters.isEmpty()).as("a broken engine is not the request's fault").isTrue();
        assertThat(predictions.isEmpty()).isTrue();
    }

    @Test
    void runsAFullBatchAsOneForwardPass() {
        start(Map.of(StreamformerConfig.BATCH_SIZE_CONFIG, "3", StreamformerConfig.BATCH_MAX_WAIT_MS_CONFIG, "60000"));
        send(request("b-1", 2, 5, 3));
        send(request("b-2", 2, 6, 7, 8, 3));
        assertThat(predictions.isEmpty()).as("waiting for the batch to fill").isTrue();
        send(request("bad", 2, 999, 3));
        assertThat(deadLetters.readValue().getRequestId()).as("invalid requests never wait").isEqualTo("bad");
        send(request("b-3", 2, 9, 3));
        assertThat(predictions.readValuesToList()).extracting(Prediction::getRequestId)
                .containsExactly("b-1", "b-2", "b-3");
        final List<LatencyEvent> events = latency.readValuesToList();
        assertThat(events).extracting(LatencyEvent::getBatchSize).containsOnly(3);
        assertThat(events).extracting(LatencyEvent::getInferenceStartUs).containsOnly(events.get(0).getInferenceStartUs());
        assertThat(events.get(0).getBatchWaitUs()).isGreaterThan(events.get(2).getBatchWaitUs());
    }

    @Test
    void runsOneForwardPassPerLengthBucketAndKeepsTheRequestOrder() {
        start(Map.of(StreamformerConfig.BATCH_SIZE_CONFIG, "4", StreamformerConfig.BATCH_MAX_WAIT_MS_CONFIG, "60000"));
        send(request("short-1", 2, 5, 3));
        send(request("long-1", tokens(20)));
        send(request("short-2", 2, 6, 7, 3));
        send(request("long-2", tokens(30)));
        assertThat(predictions.readValuesToList()).extracting(Prediction::getRequestId)
                .containsExactly("short-1", "long-1", "short-2", "long-2");
        final Map<String, LatencyEvent> events = new HashMap<>();
        latency.readValuesToList().forEach(e -> events.put(e.getRequestId(), e));
        assertThat(events.values()).extracting(LatencyEvent::getBatchSize).containsOnly(2);
        assertThat(events.get("short-1").getInferenceStartUs()).isEqualTo(events.get("short-2").getInferenceStartUs());
        assertThat(events.get("long-1").getInferenceStartUs()).isEqualTo(events.get("long-2").getInferenceStartUs());
        assertThat(events.get("long-1").getInferenceStartUs()).as("the long bucket runs after the short one")
                .isGreaterThanOrEqualTo(events.get("short-1").getInferenceEndUs());
    }

    @Test
    void runsTheWholeBatchAsOnePassWithoutLengthBuckets() {
        start(Map.of(StreamformerConfig.BATCH_SIZE_CONFIG, "4", StreamformerConfig.BATCH_MAX_WAIT_MS_CONFIG, "60000",
                StreamformerConfig.BATCH_LENGTH_BUCKETS_CONFIG, "false"));
        send(request("short-1", 2, 5, 3));
        send(request("long-1", tokens(20)));
        send(request("short-2", 2, 6, 7, 3));
        send(request("long-2", tokens(30)));
        final List<LatencyEvent> events = latency.readValuesToList();
        assertThat(events).extracting(LatencyEvent::getBatchSize).containsOnly(4);
        assertThat(events).extracting(LatencyEvent::getInferenceStartUs).containsOnly(events.get(0).getInferenceStartUs());
    }

    @Test
    void lengthBucketsArePowersOfTwoFromSixteen() {
        assertThat(List.of(1, 16, 17, 32, 33, 64, 65, 128, 129, 512).stream()
                .map(n -> EncoderInput.of(new int[n]).lengthBucket()))
                .containsExactly(16, 16, 32, 32, 64, 64, 128, 128, 256, 512);
    }

    /** A request of n tokens: [CLS]-like 2, n - 2 ids, [SEP]-like 3. */
    private static Integer[] tokens(final int n) {
        final Integer[] ids = new Integer[n];
        for (int i = 0; i < n; i++) {
            ids[i] = i == 0 ? 2 : i == n - 1 ? 3 : 10 + i;
        }
        return ids;
    }

    @Test
    void batchedOutputsEqualRecordAtATimeOutputs() {
        send(request("x-1", 2, 5, 3));
        send(request("x-2", 2, 6, 7, 8, 9, 10, 3));
        final List<Prediction> single = predictions.readValuesToList();
        start(Map.of(StreamformerConfig.BATCH_SIZE_CONFIG, "2"));
        send(request("x-1", 2, 5, 3));
        send(request("x-2", 2, 6, 7, 8, 9, 10, 3));
        final List<Prediction> batched = predictions.readValuesToList();
        for (int i = 0; i < 2; i++) {
            for (final String label : List.of("ham", "spam")) {
                assertThat(batched.get(i).getProbabilities().get(label))
                        .isCloseTo(single.get(i).getProbabilities().get(label), within(1e-5));
            }
        }
    }

    @Test
    void flushesAPartialBatchAfterTheMaximumWait() {
        start(Map.of(StreamformerConfig.BATCH_SIZE_CONFIG, "8", StreamformerConfig.BATCH_MAX_WAIT_MS_CONFIG, "50"));
        send(request("lonely", 2, 5, 3));
        driver.advanceWallClockTime(java.time.Duration.ofMillis(49));
        assertThat(predictions.isEmpty()).as("49 ms of the task's clock after it arrived").isTrue();
        driver.advanceWallClockTime(java.time.Duration.ofMillis(1));
        assertThat(predictions.readValue().getRequestId()).isEqualTo("lonely");
        assertThat(latency.readValue().getBatchSize()).isEqualTo(1);
    }


    @Test
    void everyTaskBorrowsTheSameModel() {
        send(request("a", 2, 3));
        send(request("b", 2, 4));
        assertThat(predictions.readValuesToList()).hasSize(2);
        assertThat(registry.loads()).isEqualTo(1);
    }
}
