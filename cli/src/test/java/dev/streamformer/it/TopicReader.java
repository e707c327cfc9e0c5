package dev.streamformer.it;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.UUID;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.Deserializer;

import dev.streamformer.client.CommittedReads;

/** Reads a whole topic with read_committed, for integration tests. */
final class TopicReader {

    private TopicReader() {
    }

    /**
     * Reads until at least {@code expected} records arrived and the topic has been quiet for a
     * moment, or the timeout passed.
     */
    static <K, V> List<ConsumerRecord<K, V>> readAll(final String bootstrap, final String topic,
            final Deserializer<K> keys, final Deserializer<V> values, final int expected, final Duration timeout) {
        final Properties p = CommittedReads.fromBeginning(bootstrap, "reader-" + UUID.randomUUID());
        final List<ConsumerRecord<K, V>> out = new ArrayList<>();
        try (KafkaConsumer<K, V> consumer = new KafkaConsumer<>(p, keys, values)) {
            consumer.subscribe(List.of(topic));
            final long deadline = System.nanoTime() + timeout.toNanos();
            long quietSince = System.nanoTime();
            while (System.nanoTime() < deadline) {
                final var batch = consumer.poll(Duration.ofMillis(200));
                batch.forEach(out::add);
                if (!batch.isEmpty()) {
                    quietSince = System.nanoTime();
                } else if (out.size() >= expected && System.nanoTime() - quietSince > 1_000_000_000L) {
                    break;
                }
            }
        }
        return out;
    }

    /**
     * Reads until {@code expected} records match, or the timeout passed.
     *
     * @return every record read, matching or not
     */
    static <K, V> List<ConsumerRecord<K, V>> readUntil(final String bootstrap, final String topic,
            final Deserializer<K> keys, final Deserializer<V> values,
            final java.util.function.Predicate<ConsumerRecord<K, V>> match, final int expected, final Duration timeout) {
        final Properties p = CommittedReads.fromBeginning(bootstrap, "reader-" + UUID.randomUUID());
        final List<ConsumerRecord<K, V>> out = new ArrayList<>();
        try (KafkaConsumer<K, V> consumer = new KafkaConsumer<>(p, keys, values)) {
            consumer.subscribe(List.of(topic));
            final long deadline = System.nanoTime() + timeout.toNanos();
            long matched = 0;
            while (matched < expected && System.nanoTime() < deadline) {
                for (final ConsumerRecord<K, V> r : consumer.poll(Duration.ofMillis(200))) {
                    out.add(r);
                    if (match.test(r)) {
                        matched++;
                    }
                }
            }
        }
        return out;
    }
}
