package dev.streamformer.client;

import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringSerializer;

import dev.streamformer.schemas.TokenizedInput;
import dev.streamformer.schemas.serde.StreamformerSerdes;

/** Produces requests, keyed by request id, at an optional rate, with an idempotent producer. */
public final class RequestProducer {

    private RequestProducer() {
    }

    /**
     * @param clientProps Kafka client properties (bootstrap servers, security)
     * @param topic the request topic
     * @param requests the requests
     * @param ratePerSecond records per second; 0 or less means as fast as possible
     * @return the number of records acknowledged by the brokers
     * @throws InterruptedException when interrupted while pacing
     */
    public static long produce(final Properties clientProps, final String topic, final Iterator<TokenizedInput> requests,
            final double ratePerSecond) throws InterruptedException {
        return produce(clientProps, topic, requests, ratePerSecond, StreamformerSerdes.tokenizedInput());
    }

    /**
     * @param clientProps Kafka client properties (bootstrap servers, security)
     * @param topic the request topic
     * @param requests the requests
     * @param ratePerSecond records per second; 0 or less means as fast as possible
     * @param values how requests are written: {@code new WireSerdes(format, registry).tokenizedInput().serializer()}
     *     for Avro single-object encoding, a schema registry's framing (with
     *     {@link dev.streamformer.schemas.wire.SchemaRegistryClient#of} on a registry URL) or JSON
     * @return the number of records acknowledged by the brokers
     * @throws InterruptedException when interrupted while pacing
     */
    public static long produce(final Properties clientProps, final String topic, final Iterator<TokenizedInput> requests,
            final double ratePerSecond, final Serializer<TokenizedInput> values) throws InterruptedException {
        return produce(clientProps, topic, requests, ratePerSecond, values, request -> Map.of());
    }

    /**
     * @param clientProps Kafka client properties (bootstrap servers, security)
     * @param topic the request topic
     * @param requests the requests
     * @param ratePerSecond records per second; 0 or less means as fast as possible
     * @param values how requests are written
     * @param headers the Kafka headers of each request, for example its W3C {@code traceparent} (the processor
     *     continues that trace and copies it, with its own span, to the request's outputs)
     * @return the number of records acknowledged by the brokers
     * @throws InterruptedException when interrupted while pacing
     */
    public static long produce(final Properties clientProps, final String topic, final Iterator<TokenizedInput> requests,
            final double ratePerSecond, final Serializer<TokenizedInput> values,
            final Function<TokenizedInput, Map<String, String>> headers) throws InterruptedException {
        final Properties p = new Properties();
        p.putAll(clientProps);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.putIfAbsent(ProducerConfig.LINGER_MS_CONFIG, "5");
        final AtomicLong acknowledged = new AtomicLong();
        final AtomicReference<Exception> failure = new AtomicReference<>();
        final long start = System.nanoTime();
        long sent = 0;
        try (KafkaProducer<String, TokenizedInput> producer = new KafkaProducer<>(p, new StringSerializer(),
                values)) {
            while (requests.hasNext() && failure.get() == null) {
                final TokenizedInput request = requests.next();
                if (ratePerSecond > 0) {
                    final long due = start + (long) (sent * 1e9 / ratePerSecond);
                    final long wait = due - System.nanoTime();
                    if (wait > 0) {
                        Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                    }
                }
                final ProducerRecord<String, TokenizedInput> record = new ProducerRecord<>(topic, request.getRequestId(), request);
                headers.apply(request).forEach((k, v) -> record.headers().add(k, v.getBytes(StandardCharsets.UTF_8)));
                producer.send(record, (meta, e) -> {
                    if (e != null) {
                        failure.compareAndSet(null, e);
                    } else {
                        acknowledged.incrementAndGet();
                    }
                });
                sent++;
            }
            producer.flush();
        }
        if (failure.get() != null) {
            throw new IllegalStateException("Producing to " + topic + " failed after " + acknowledged.get()
                    + " records: " + failure.get().getMessage(), failure.get());
        }
        return acknowledged.get();
    }
}
