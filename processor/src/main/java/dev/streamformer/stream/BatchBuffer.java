package dev.streamformer.stream;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.Stores;

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
 */
final class BatchBuffer {

    /** Name of the store; its changelog topic is {@code <application.id>-streamformer-batch-buffer-changelog}. */
    static final String STORE = "streamformer-batch-buffer";

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
     * @return the restored sources with their store keys
     */
    List<KeyValue<Long, InferenceProcessor.Source>> restore() {
        final List<KeyValue<Long, InferenceProcessor.Source>> out = new ArrayList<>();
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
     * @param source the request's origin and raw bytes
     * @return its store key
     */
    long add(final InferenceProcessor.Source source) {
        final long key = next++;
        store.put(key, encode(source));
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

    static byte[] encode(final InferenceProcessor.Source s) {
        try (ByteArrayOutputStream bytes = new ByteArrayOutputStream();
                DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeUTF(s.topic());
            out.writeInt(s.partition());
            out.writeLong(s.offset());
            out.writeLong(s.timestamp());
            writeBytes(out, s.key());
            writeBytes(out, s.value());
            out.writeLong(s.receivedUs());
            final Header[] headers = s.headers() == null ? new Header[0] : s.headers().toArray();
            out.writeInt(headers.length);
            for (final Header h : headers) {
                out.writeUTF(h.key());
                writeBytes(out, h.value());
            }
            out.flush();
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static InferenceProcessor.Source decode(final byte[] data) {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(data))) {
            final String topic = in.readUTF();
            final int partition = in.readInt();
            final long offset = in.readLong();
            final long timestamp = in.readLong();
            final byte[] key = readBytes(in);
            final byte[] value = readBytes(in);
            final long receivedUs = in.readLong();
            // Headers since version 2 of the entry; an entry buffered by an older processor has none.
            final RecordHeaders headers = new RecordHeaders();
            if (in.available() > 0) {
                final int n = in.readInt();
                for (int i = 0; i < n; i++) {
                    headers.add(in.readUTF(), readBytes(in));
                }
            }
            return new InferenceProcessor.Source(topic, partition, offset, timestamp, key, value, receivedUs, headers);
        } catch (IOException e) {
            throw new UncheckedIOException("Corrupt batch buffer entry", e);
        }
    }

    private static void writeBytes(final DataOutputStream out, final byte[] b) throws IOException {
        out.writeInt(b == null ? -1 : b.length);
        if (b != null) {
            out.write(b);
        }
    }

    private static byte[] readBytes(final DataInputStream in) throws IOException {
        final int n = in.readInt();
        return n < 0 ? null : in.readNBytes(n);
    }
}
