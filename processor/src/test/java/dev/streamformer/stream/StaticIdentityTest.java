package dev.streamformer.stream;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The stable instance name: static membership and transactional ids that survive a restart. */
class StaticIdentityTest {

    @TempDir
    Path state;

    @Test
    void theNameIsStableForAStateDirectoryAndDistinctForASecondProcessorSharingIt() {
        final String first;
        try (StaticIdentity a = StaticIdentity.apply(kafka(state))) {
            first = a.name();
            try (StaticIdentity b = StaticIdentity.apply(kafka(state))) {
                assertThat(b.name()).isEqualTo(first + "-1");
            }
        }
        try (StaticIdentity again = StaticIdentity.apply(kafka(state))) {
            assertThat(again.name()).as("a restart on the same state directory").isEqualTo(first);
        }
        try (StaticIdentity other = StaticIdentity.apply(kafka(state.resolve("other")))) {
            assertThat(other.name()).isNotEqualTo(first);
        }
    }

    @Test
    void everyStreamThreadConsumerJoinsAsAStaticMember() {
        final Properties kafka = kafka(state);
        try (StaticIdentity identity = StaticIdentity.apply(kafka)) {
            final Map<String, Object> consumer = new StreamsConfig(kafka).getMainConsumerConfigs("group", "client", 2);
            assertThat(consumer.get(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG)).isEqualTo(identity.name() + "-2");
        }
    }

    @Test
    void theUsersNameWinsAndABlankOneMeansDynamicMembership() {
        final Properties named = kafka(state);
        named.put(StreamsConfig.consumerPrefix(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG), "pod-3");
        try (StaticIdentity identity = StaticIdentity.apply(named)) {
            assertThat(identity.name()).isEqualTo("pod-3");
            assertThat(named.getProperty(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG)).isEqualTo("pod-3");
        }
        final Properties blank = kafka(state);
        blank.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, "");
        try (StaticIdentity identity = StaticIdentity.apply(blank)) {
            assertThat(identity.name()).isNull();
            assertThat(blank).doesNotContainKey(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG);
            final Map<String, Object> producer = Map.of(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "app-9f1c-1");
            assertThat(identity.withStableTransactionalId(producer)).isEqualTo(producer);
        }
    }

    @Test
    void aStreamThreadsTransactionalIdNamesTheInstanceInsteadOfARandomProcessId() {
        final Properties named = kafka(state);
        named.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, "pod-3");
        try (StaticIdentity identity = StaticIdentity.apply(named)) {
            final Map<String, Object> producer = identity.withStableTransactionalId(Map.of(
                    ProducerConfig.TRANSACTIONAL_ID_CONFIG, "app-0a6e1a4b-1c6e-4c52-9a4e-3b1d2e0f9c11-2",
                    ProducerConfig.CLIENT_ID_CONFIG, "client"));
            assertThat(producer).containsEntry(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "app-pod-3-2")
                    .containsEntry(ProducerConfig.CLIENT_ID_CONFIG, "client");
            assertThat(identity.withStableTransactionalId(Map.of(ProducerConfig.CLIENT_ID_CONFIG, "client")))
                    .as("at least once: no transactions").doesNotContainKey(ProducerConfig.TRANSACTIONAL_ID_CONFIG);
        }
    }

    private static Properties kafka(final Path stateDir) {
        final Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, "app");
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "localhost:9092");
        p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        return p;
    }
}
