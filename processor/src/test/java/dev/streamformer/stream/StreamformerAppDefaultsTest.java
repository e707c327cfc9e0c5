package dev.streamformer.stream;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;

/** The processor's Kafka defaults as Kafka Streams resolves them for a stream thread's consumer. */
class StreamformerAppDefaultsTest {

    @Test
    void streamThreadsPollAtMostOneHundredRequestsByDefault() {
        assertThat(mainConsumerMaxPollRecords(new Properties())).isEqualTo(KafkaDefaults.MAX_POLL_RECORDS);
    }

    @Test
    void theUsersMaxPollRecordsWinsOverTheDefault() {
        final Properties plain = new Properties();
        plain.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "500");
        assertThat(mainConsumerMaxPollRecords(plain)).isEqualTo(500);

        final Properties consumerPrefixed = new Properties();
        consumerPrefixed.put(StreamsConfig.consumerPrefix(ConsumerConfig.MAX_POLL_RECORDS_CONFIG), "300");
        assertThat(mainConsumerMaxPollRecords(consumerPrefixed)).isEqualTo(300);

        final Properties mainPrefixed = new Properties();
        mainPrefixed.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "500");
        mainPrefixed.put(StreamsConfig.mainConsumerPrefix(ConsumerConfig.MAX_POLL_RECORDS_CONFIG), "40");
        assertThat(mainConsumerMaxPollRecords(mainPrefixed)).isEqualTo(40);
    }

    @Test
    void theGroupWaitsFifteenSecondsForASilentInstanceUnlessTheUserSaysOtherwise() {
        assertThat(mainConsumer(new Properties()).get(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG).toString())
                .isEqualTo("15000");
        final Properties user = new Properties();
        user.put(StreamsConfig.consumerPrefix(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG), "6000");
        assertThat(mainConsumer(user).get(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG).toString()).isEqualTo("6000");
    }

    private static Map<String, Object> mainConsumer(final Properties user) {
        final Properties all = StreamformerConfig.kafkaOnly(KafkaDefaults.under(user));
        all.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "localhost:9092");
        return new StreamsConfig(all).getMainConsumerConfigs("group", "client", 0);
    }

    private static int mainConsumerMaxPollRecords(final Properties user) {
        final Properties all = StreamformerConfig.kafkaOnly(KafkaDefaults.under(user));
        all.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "localhost:9092");
        final Map<String, Object> consumer = new StreamsConfig(all).getMainConsumerConfigs("group", "client", 0);
        return Integer.parseInt(consumer.get(ConsumerConfig.MAX_POLL_RECORDS_CONFIG).toString());
    }
}
