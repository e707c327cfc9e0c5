package dev.streamformer.stream;

import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.Serde;

import dev.streamformer.schemas.BufferedRequest;
import dev.streamformer.schemas.TokenizedInput;
import dev.streamformer.schemas.serde.SingleObjectSerde;

/**
 * A request on its way: where it came from, its key and value as read, when it arrived
 * (microseconds for its latency event, the task's wall clock in ms for its batch's wait), and the
 * version it was routed to.
 */
final class PendingRequest<K> {
    final String topic;
    final int partition;
    final long offset;
    final long timestamp;
    final K key;
    final Headers headers;
    final long receivedUs;
    final long arrivedMs;
    private byte[] keyBytes;
    private byte[] value;
    TokenizedInput request;
    /** The version it was routed to and its input for that version; null until routed. */
    ModelCatalog.Served served;
    RequestValidator.Valid valid;
    ModelCatalog.Served shadow;
    boolean counted;
    /** The request's process span, or null when tracing is off. */
    io.opentelemetry.api.trace.Span span;
    long bufferKey = -1;
    private ServingMetrics.Model bufferedOn;

    PendingRequest(final String topic, final int partition, final long offset, final long timestamp, final K key,
            final byte[] value, final Headers headers, final long receivedUs, final long arrivedMs) {
        this.topic = topic;
        this.partition = partition;
        this.offset = offset;
        this.timestamp = timestamp;
        this.key = key;
        this.value = value;
        this.headers = headers;
        this.receivedUs = receivedUs;
        this.arrivedMs = arrivedMs;
    }

    static <K> PendingRequest<K> restored(final long bufferKey, final BufferedRequest e, final Serde<K> keys,
            final TokenizedInput request) {
        final byte[] keyBytes = BatchBuffer.bytes(e.getKey());
        final byte[] value = BatchBuffer.bytes(e.getValue());
        final Headers headers = new RecordHeaders();
        e.getHeaders().forEach(h -> headers.add(h.getKey(), BatchBuffer.bytes(h.getValue())));
        final PendingRequest<K> p = new PendingRequest<>(e.getTopic(), e.getPartition(), e.getOffset(), e.getTimestamp(),
                keyBytes == null ? null : keys.deserializer().deserialize(e.getTopic(), keyBytes), value, headers,
                e.getReceivedAtUs(), e.getReceivedAtUs() / 1_000);
        p.keyBytes = keyBytes;
        p.request = request;
        p.bufferKey = bufferKey;
        return p;
    }

    byte[] keyBytes(final Serde<K> keys) {
        if (keyBytes == null && key != null) {
            keyBytes = keys.serializer().serialize(topic, key);
        }
        return keyBytes;
    }

    byte[] valueBytes(final SingleObjectSerde<TokenizedInput> requests) {
        if (value == null && request != null) {
            value = requests.serialize(topic, request);
        }
        return value;
    }

    BufferedRequest entry(final Serde<K> keys, final SingleObjectSerde<TokenizedInput> requests) {
        return BatchBuffer.entry(topic, partition, offset, timestamp, keyBytes(keys), valueBytes(requests),
                receivedUs, headers);
    }

    void bufferedOn(final ServingMetrics.Model meters) {
        bufferedOn = meters;
        meters.buffered.incrementAndGet();
    }

    void unbuffered() {
        if (bufferedOn != null) {
            bufferedOn.buffered.decrementAndGet();
            bufferedOn = null;
        }
    }
}
