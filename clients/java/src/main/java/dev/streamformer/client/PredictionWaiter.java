package dev.streamformer.client;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.function.Consumer;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

import dev.streamformer.schemas.Prediction;
import dev.streamformer.schemas.wire.WireFormat;
import dev.streamformer.schemas.wire.WireSerdes;

/**
 * Waits for the predictions of requests about to be produced: positioned at the end of the
 * prediction topic before they are sent, it reads committed predictions until every awaited
 * request id has one or the time is up.
 */
public final class PredictionWaiter implements AutoCloseable {

    private final KafkaConsumer<String, byte[]> consumer;
    private final String topic;
    private final Deserializer<Prediction> predictions;

    /**
     * Opens the reader at the current end of the topic.
     *
     * @param client client properties (bootstrap servers, security)
     * @param topic the prediction topic
     * @throws IllegalStateException when the topic does not exist (no processor has run against this cluster)
     */
    public PredictionWaiter(final Properties client, final String topic) {
        this(client, topic, new WireSerdes(WireFormat.AVRO, null).prediction().deserializer());
    }

    /**
     * Opens the reader at the current end of the topic.
     *
     * @param client client properties (bootstrap servers, security)
     * @param topic the prediction topic
     * @param predictions how predictions are read, for example {@code new WireSerdes(format, registry).prediction()
     *     .deserializer()}, which reads every format (framed ones with the registry)
     * @throws IllegalStateException when the topic does not exist (no processor has run against this cluster)
     */
    public PredictionWaiter(final Properties client, final String topic, final Deserializer<Prediction> predictions) {
        this.topic = topic;
        this.predictions = predictions;
        this.consumer = new KafkaConsumer<>(CommittedReads.properties(client, "streamformer-produce-wait-"
                + UUID.randomUUID(), false), new StringDeserializer(), new ByteArrayDeserializer());
        final List<PartitionInfo> partitions = consumer.partitionsFor(topic, Duration.ofSeconds(10));
        if (partitions == null || partitions.isEmpty()) {
            consumer.close();
            throw new IllegalStateException("No prediction topic " + topic + ": start the processor (streamformer run)"
                    + " before producing with --wait");
        }
        final List<TopicPartition> assigned = new ArrayList<>();
        for (final PartitionInfo p : partitions) {
            assigned.add(new TopicPartition(topic, p.partition()));
        }
        consumer.assign(assigned);
        consumer.seekToEnd(assigned);
        assigned.forEach(consumer::position);
    }

    /**
     * Reads predictions until every id has one or the timeout passes.
     *
     * @param ids the request ids awaited
     * @param timeout the longest to wait
     * @param onPrediction called once per awaited id, in arrival order
     * @return the ids that got no prediction in time
     */
    public Set<String> await(final Set<String> ids, final Duration timeout, final Consumer<Prediction> onPrediction) {
        final Set<String> missing = new HashSet<>(ids);
        final long deadline = System.nanoTime() + timeout.toNanos();
        while (!missing.isEmpty() && System.nanoTime() < deadline) {
            for (final ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                if (r.key() != null && missing.remove(r.key())) {
                    onPrediction.accept(predictions.deserialize(topic, r.value()));
                }
            }
        }
        return missing;
    }

    @Override
    public void close() {
        consumer.close(Duration.ofSeconds(5));
    }
}
