package dev.streamformer.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.LoggerFactory;

/** Misspelt keys are caught before the processor connects. */
class UnknownKeysTest {

    @Test
    @Timeout(10)
    void aMisspeltStreamformerKeyStopsStartUpBeforeConnectingAndNamesTheNearestKey() {
        final Properties props = new Properties();
        // Nothing listens on port 1: reaching for the broker would take far longer than the timeout.
        props.put("bootstrap.servers", "localhost:1");
        props.put("streamformer.batch.sise", "8");
        assertThatThrownBy(() -> StreamformerApp.start(props, new ModelRegistry()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Unknown setting streamformer.batch.sise: did you mean streamformer.batch.size? (every"
                        + " streamformer.* key is in the README's configuration reference)");
    }

    @Test
    void aKeyNoKafkaClientKnowsIsWarnedAboutWithTheNearestKnownKey() {
        final List<String> warnings = UnknownKeys.warnUnknownKafka(Map.of("num.stream.thread", "1",
                "num.stream.threads", "2", "consumer.max.poll.record", "5", "main.consumer.max.poll.records", "5",
                "sasl.jaas.config", "x", "topic.retention.ms", "1"), LoggerFactory.getLogger(UnknownKeysTest.class));
        assertThat(warnings).containsExactly(
                "Kafka knows no setting consumer.max.poll.record: is it a typo of max.poll.records? (passed on unchanged)",
                "Kafka knows no setting num.stream.thread: is it a typo of num.stream.threads? (passed on unchanged)");
    }

    @Test
    void theProcessorsOwnDefaultsRaiseNoWarning() {
        assertThat(UnknownKeys.warnUnknownKafka(StreamformerConfig.kafkaOnly(KafkaDefaults.properties()),
                LoggerFactory.getLogger(UnknownKeysTest.class))).isEmpty();
    }
}
