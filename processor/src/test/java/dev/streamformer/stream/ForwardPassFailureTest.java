package dev.streamformer.stream;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;

import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.streamformer.model.Activation;
import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.EncoderBatch;
import dev.streamformer.model.EngineSettings;
import dev.streamformer.model.DelegatingForwardPass;
import dev.streamformer.model.ForwardPass;
import dev.streamformer.model.InferenceModel;
import dev.streamformer.model.ModelConfig;
import dev.streamformer.model.SharingPlan;
import dev.streamformer.schemas.DeadLetter;
import dev.streamformer.schemas.ErrorKind;
import dev.streamformer.schemas.Prediction;
import dev.streamformer.schemas.TokenizedInput;
import dev.streamformer.schemas.serde.StreamformerSerdes;

/**
 * A forward pass that fails for one request, on the real ONNX Runtime engine with a fault injected
 * around its pass: that request is dead-lettered alone, with the engine's reason, and the others of
 * its pass are served. (An engine that fails everything: StreamformerTopologyTest and EngineFailureIT.)
 */
class ForwardPassFailureTest {

    /** A token id the injected fault refuses to run, as an engine refuses an input it cannot handle. */
    static final int POISON = 177;

    @TempDir
    static Path modelDir;

    private final AtomicInteger passes = new AtomicInteger();
    private TopologyTestDriver driver;
    private TestInputTopic<byte[], byte[]> requests;
    private TestOutputTopic<String, Prediction> predictions;
    private TestOutputTopic<byte[], DeadLetter> deadLetters;

    @BeforeAll
    static void writeModel() throws Exception {
        final ModelConfig config = new ModelConfig(200, 16, 32, 3, 4, 4, 64, 32, 2, Activation.GELU_NEW, 1e-12,
                true, SharingPlan.ALL, List.of("ham", "spam"));
        Checkpoint.random(config, 3).save(modelDir);
    }

    /** The real pass, refusing batches that hold the poison token. */
    private final class FaultyPass extends DelegatingForwardPass {

        FaultyPass(final ForwardPass real) {
            super(real);
        }

        @Override
        public float[] logits(final EncoderBatch batch) {
            passes.incrementAndGet();
            for (final long id : batch.tokenIds()) {
                if (id == POISON) {
                    throw new IllegalArgumentException("kernel rejected token " + POISON);
                }
            }
            return delegate.logits(batch);
        }
    }

    private void start(final int batchSize) {
        final Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "forward-failure-test");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        props.put(StreamformerConfig.MODEL_DIR_CONFIG, modelDir.toString());
        props.put(StreamformerConfig.BATCH_SIZE_CONFIG, Integer.toString(batchSize));
        props.put(StreamformerConfig.BATCH_MAX_WAIT_MS_CONFIG, "60000");
        final ModelRegistry faulty = new ModelRegistry() {
            @Override
            protected InferenceModel load(final String dir, final EngineSettings engine) throws IOException {
                return super.load(dir, engine).wrapped(FaultyPass::new);
            }
        };
        final ProcessorDriver d = ProcessorDriver.start(props, faulty);
        driver = d.driver();
        requests = d.requests();
        predictions = d.predictions();
        deadLetters = d.deadLetters();
    }

    @AfterEach
    void stop() {
        driver.close();
    }

    private void send(final String id, final int token) {
        final TokenizedInput request = TokenizedInput.newBuilder().setRequestId(id)
                .setTokenIds(List.of(2, token, 40, 3)).setCreatedAt(Instant.ofEpochMilli(1_000)).build();
        requests.pipeInput(new TestRecord<>(id.getBytes(), StreamformerSerdes.tokenizedInput().serialize("t", request),
                Instant.ofEpochMilli(5_000)));
    }

    @Test
    void onePoisonedRequestInAPassOf16Gives15PredictionsAnd1DeadLetter() {
        start(16);
        IntStream.range(0, 16).forEach(i -> send("r-" + i, i == 9 ? POISON : 20 + i));

        final List<String> predicted = new ArrayList<>();
        predictions.readValuesToList().forEach(p -> predicted.add(p.getRequestId()));
        assertThat(predicted).hasSize(15).doesNotContain("r-9");
        assertThat(predicted).containsExactly(IntStream.range(0, 16).filter(i -> i != 9).mapToObj(i -> "r-" + i)
                .toArray(String[]::new));
        final List<DeadLetter> letters = deadLetters.readValuesToList();
        assertThat(letters).hasSize(1);
        assertThat(letters.get(0).getRequestId()).isEqualTo("r-9");
        assertThat(letters.get(0).getErrorKind()).isEqualTo(ErrorKind.INFERENCE);
        assertThat(letters.get(0).getErrorMessage()).contains("kernel rejected token " + POISON);
        // The pass of 16, the probe, then each of the 16 alone.
        assertThat(passes.get()).isEqualTo(1 + 1 + 16);
    }
}
