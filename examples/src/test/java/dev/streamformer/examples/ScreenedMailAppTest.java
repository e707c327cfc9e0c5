package dev.streamformer.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.Test;

import dev.streamformer.model.DefaultModel;
import dev.streamformer.model.EncoderInput;
import dev.streamformer.model.InferenceModel;
import dev.streamformer.schemas.DeadLetter;
import dev.streamformer.schemas.ErrorKind;
import dev.streamformer.schemas.TokenizedInput;
import dev.streamformer.schemas.serde.StreamformerSerdes;
import dev.streamformer.stream.ModelCatalog;
import dev.streamformer.stream.ModelRegistry;
import dev.streamformer.stream.ServingMetrics;
import dev.streamformer.stream.StreamformerConfig;
import dev.streamformer.text.TextTokenizer;

/** The example application on the shipped model: the filter before the inference, the join after it. */
class ScreenedMailAppTest {

    private static final String SPAM = "URGENT!!! You have WON $1,000,000 cash. Click here now to claim your prize,"
            + " limited time offer, no purchase necessary. Unsubscribe: reply REMOVE";
    private static final String HAM = "Hi Tom, the kernel build failed again on the test box last night; I attached"
            + " the log. Can we look at it after the meeting tomorrow? Thanks, Anna";

    @Test
    void screensExternalMailJoinsTheVerdictWithItsSenderAndDeadLettersWhatCannotRun() throws Exception {
        final Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "screened-mail-test");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        props.put(StreamformerConfig.BATCH_SIZE_CONFIG, "3");
        props.put(StreamformerConfig.BATCH_MAX_WAIT_MS_CONFIG, "60000");
        final ModelRegistry registry = new ModelRegistry();
        final int[] spam;
        final int[] ham;
        final Map<String, String> direct;
        try (TextTokenizer tokenizer = TextTokenizer.load(DefaultModel.directory(), 128);
                InferenceModel model = DefaultModel.load()) {
            spam = tokenizer.encode(SPAM);
            ham = tokenizer.encode(HAM);
            final List<String> labels = model.config().labels();
            final var out = model.predict(List.of(EncoderInput.of(spam), EncoderInput.of(ham)));
            direct = Map.of("m-1", labels.get(out.get(0).argmax()), "m-2", labels.get(out.get(1).argmax()));
        }
        assertThat(direct).as("the shipped model on the two texts").containsEntry("m-1", "spam")
                .containsEntry("m-2", "ham");

        try (TopologyTestDriver driver = new TopologyTestDriver(
                ScreenedMailApp.topology(new StreamformerConfig(props),
                        new ModelCatalog(new StreamformerConfig(props), registry, ServingMetrics.disabled())), props)) {
            final TestInputTopic<String, String> senders = driver.createInputTopic(ScreenedMailApp.SENDERS,
                    new StringSerializer(), new StringSerializer());
            final TestInputTopic<String, TokenizedInput> mail = driver.createInputTopic(ScreenedMailApp.REQUESTS,
                    new StringSerializer(), StreamformerSerdes.tokenizedInput().serializer());
            final TestOutputTopic<String, String> verdicts = driver.createOutputTopic(ScreenedMailApp.VERDICTS,
                    new StringDeserializer(), new StringDeserializer());
            final TestOutputTopic<String, DeadLetter> deadLetters = driver.createOutputTopic(
                    ScreenedMailApp.DEAD_LETTERS, new StringDeserializer(), StreamformerSerdes.deadLetter());

            senders.pipeInput("m-1", "promo@win.example");
            senders.pipeInput("m-2", "anna@example.org");
            senders.pipeInput("internal-7", "it@example.org");
            mail.pipeInput("m-1", request("m-1", spam));
            mail.pipeInput("internal-7", request("internal-7", ham));
            mail.pipeInput("bad", request("bad", 2, 99_999, 3));
            mail.pipeInput("m-2", request("m-2", ham));
            assertThat(verdicts.isEmpty()).as("a batch of 3 external requests is not yet full").isTrue();
            mail.pipeInput("m-3", request("m-3", ham)); // no sender: the inner join drops its prediction

            final List<KeyValue<String, String>> out = verdicts.readKeyValuesToList();
            assertThat(out).extracting(kv -> kv.key).containsExactly("promo@win.example", "anna@example.org");
            assertThat(out.get(0).value).startsWith("spam ").endsWith(" m-1");
            assertThat(out.get(1).value).startsWith("ham ").endsWith(" m-2");
            final List<DeadLetter> letters = deadLetters.readValuesToList();
            assertThat(letters).hasSize(1);
            assertThat(letters.get(0).getRequestId()).isEqualTo("bad");
            assertThat(letters.get(0).getErrorKind()).isEqualTo(ErrorKind.VALIDATION);
            assertThat(letters.get(0).getErrorMessage()).contains("token id 99999");
        }
    }

    private static TokenizedInput request(final String id, final int... ids) {
        return TokenizedInput.newBuilder().setRequestId(id).setTokenIds(Arrays.stream(ids).boxed().toList())
                .setCreatedAt(Instant.ofEpochMilli(1_000)).build();
    }
}
