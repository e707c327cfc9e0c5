package dev.streamformer.stream;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.streams.StreamsConfig;
import org.slf4j.Logger;

import dev.streamformer.schemas.internals.NearestName;

/**
 * Catches misspelt keys before the processor connects: an unknown {@code streamformer.*} key is an
 * error naming the nearest known one; a key that no Kafka Streams, consumer, producer or admin
 * client knows gets a warning line naming the nearest (Kafka itself only lists unused keys at INFO,
 * and some plug-ins read keys of their own, so this stays a warning).
 */
final class UnknownKeys {

    private static final String OWN_PREFIX = "streamformer.";
    /** Prefixes Kafka Streams passes on to one kind of client, or to its internal topics. */
    private static final List<String> CLIENT_PREFIXES = List.of(StreamsConfig.MAIN_CONSUMER_PREFIX,
            StreamsConfig.RESTORE_CONSUMER_PREFIX, StreamsConfig.GLOBAL_CONSUMER_PREFIX, StreamsConfig.CONSUMER_PREFIX,
            StreamsConfig.PRODUCER_PREFIX, StreamsConfig.ADMIN_CLIENT_PREFIX);

    private UnknownKeys() {
    }

    /**
     * @param props every property of the processor
     * @throws IllegalArgumentException naming the first unknown {@code streamformer.*} key and the nearest known one
     */
    static void rejectUnknownOwn(final Map<?, ?> props) {
        final Set<String> known = StreamformerAppConfig.configDef().names();
        for (final Object k : new TreeSet<>(props.keySet().stream().map(Object::toString).toList())) {
            final String key = k.toString();
            if (key.startsWith(OWN_PREFIX) && !known.contains(key)) {
                throw new IllegalArgumentException("Unknown setting " + key + ": did you mean "
                        + NearestName.of(key, known) + "? (every streamformer.* key is in the README's configuration"
                        + " reference)");
            }
        }
    }

    /**
     * Logs one warning per key that no Kafka client or Kafka Streams knows.
     *
     * @param kafka the properties passed to Kafka
     * @param log where the warnings go
     * @return the warnings
     */
    static List<String> warnUnknownKafka(final Map<?, ?> kafka, final Logger log) {
        final List<String> warnings = new ArrayList<>();
        final Set<String> known = new HashSet<>(StreamsConfig.configDef().names());
        known.addAll(ConsumerConfig.configNames());
        known.addAll(ProducerConfig.configNames());
        known.addAll(AdminClientConfig.configNames());
        for (final Object k : new TreeSet<>(kafka.keySet().stream().map(Object::toString).toList())) {
            String key = k.toString();
            if (key.startsWith(StreamsConfig.TOPIC_PREFIX)) {
                continue;
            }
            for (final String prefix : CLIENT_PREFIXES) {
                if (key.startsWith(prefix)) {
                    key = key.substring(prefix.length());
                    break;
                }
            }
            if (!known.contains(key)) {
                warnings.add("Kafka knows no setting " + k + ": is it a typo of " + NearestName.of(key, known)
                        + "? (passed on unchanged)");
            }
        }
        warnings.forEach(log::warn);
        return warnings;
    }
}
