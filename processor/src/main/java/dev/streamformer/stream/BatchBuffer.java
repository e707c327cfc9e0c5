package dev.streamformer.stream;

import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.Stores;

import dev.streamformer.schemas.BufferedHeader;
import dev.streamformer.schemas.BufferedRequest;
import dev.streamformer.schemas.serde.SingleObjectSerde;
import dev.streamformer.schemas.serde.StreamformerSerdes;

/**
 * The requests of one task waiting for their batch, kept in a changelogged key-value store. Under
 * exactly_once_v2 the store's changelog is written in the same transaction as the outputs and the
 * consumed offsets, so after a crash the buffer is restored exactly as of the last commit: a
 * request whose offset was committed is in the buffer or already has its outputs, never neither
 * and never both.
 *
 * <p>The store is cached: its changelog is written when the task commits, not on every put and
 * delete. A request whose batch ran within one commit interval leaves one tombstone in the
 * changelog instead of its entry and a tombstone; only requests still waiting at a commit are
 * written whole. The cache is flushed before the transaction commits, so the changelog still holds
 * exactly the buffer as of each commit.
 *
 * <p>Entries outlive the process that wrote them: a processor after a rolling upgrade restores the
 * entries of the one before it. Each is a {@link BufferedRequest} in single-object encoding, whose
 * schema fingerprint says which version wrote it; the unversioned layout of earlier processors is
 * read too.
 */
final class BatchBuffer {

    /** Name of the store; its changelog topic is {@code <application.id>-streamformer-batch-buffer-changelog}. */
    static final String STORE = "streamformer-batch-buffer";

    private static final SingleObjectSerde<BufferedRequest> ENTRIES = StreamformerSerdes.bufferedRequest();

    private final KeyValueStore<Long, byte[]> store;
    private long next;

    BatchBuffer(final KeyValueStore<Long, byte[]> store) {
        this.store = store;
    }

    /** @return a builder of the cached, changelogged in-memory store */
    static StoreBuilder<KeyValueStore<Long, byte[]>> storeBuilder() {
        return Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore(STORE), Serdes.Long(), Serdes.ByteArray())
                .withCachingEnabled()
                .withLoggingEnabled(Map.of());
    }

    /**
     * The requests left in the store (after a restart), in arrival order.
     *
     * @return the restored entries with their store keys
     */
    List<KeyValue<Long, BufferedRequest>> restore() {
        final List<KeyValue<Long, BufferedRequest>> out = new ArrayList<>();
        try (KeyValueIterator<Long, byte[]> it = store.all()) {
            while (it.hasNext()) {
                final KeyValue<Long, byte[]> kv = it.next();
                out.add(KeyValue.pair(kv.key, decode(kv.value)));
                next = Math.max(next, kv.key + 1);
            }
        }
        return out;
    }

    /**
     * Buffers a request.
     *
     * @param entry the request as it arrived
     * @return its store key
     */
    long add(final BufferedRequest entry) {
        final long key = next++;
        store.put(key, ENTRIES.serialize(STORE, entry));
        return key;
    }

    /**
     * Forgets requests whose outputs were forwarded.
     *
     * @param keys their store keys
     */
    void remove(final List<Long> keys) {
        keys.forEach(store::delete);
    }

    /** @return an entry of the buffer */
    static BufferedRequest entry(final String topic, final int partition, final long offset, final long timestamp,
            final byte[] key, final byte[] value, final long receivedUs, final Headers headers) {
        final List<BufferedHeader> kept = new ArrayList<>();
        for (final Header h : headers == null ? new Header[0] : headers.toArray()) {
            kept.add(new BufferedHeader(h.key(), wrap(h.value())));
        }
        return new BufferedRequest(topic, partition, offset, timestamp, wrap(key), wrap(value), receivedUs, kept);
    }

    /**
     * Reads an entry: a {@link BufferedRequest} in single-object encoding (its fingerprint names its
     * schema version), or an entry of the layout before it, which processors up to 0.1.0 wrote.
     *
     * @param data the entry's bytes
     * @return the entry
     */
    static BufferedRequest decode(final byte[] data) {
        if (data.length >= 2 && data[0] == (byte) 0xC3 && data[1] == 0x01) {
            return ENTRIES.deserialize(STORE, data);
        }
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(data))) {
            final String topic = in.readUTF();
            final int partition = in.readInt();
            final long offset = in.readLong();
            final long timestamp = in.readLong();
            final byte[] key = readBytes(in);
            final byte[] value = readBytes(in);
            final long receivedUs = in.readLong();
            // Headers since the second layout; an entry of the first has none.
            final RecordHeaders headers = new RecordHeaders();
            if (in.available() > 0) {
                final int n = in.readInt();
                for (int i = 0; i < n; i++) {
                    headers.add(in.readUTF(), readBytes(in));
                }
            }
            return entry(topic, partition, offset, timestamp, key, value, receivedUs, headers);
        } catch (IOException e) {
            throw new UncheckedIOException("Corrupt batch buffer entry of the unversioned layout", e);
        }
    }

    /** @return the bytes of an Avro bytes field, or null */
    static byte[] bytes(final ByteBuffer b) {
        if (b == null) {
            return null;
        }
        final byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return out;
    }

    private static ByteBuffer wrap(final byte[] b) {
        return b == null ? null : ByteBuffer.wrap(b);
    }

    private static byte[] readBytes(final DataInputStream in) throws IOException {
        final int n = in.readInt();
        return n < 0 ? null : in.readNBytes(n);
    }
}
