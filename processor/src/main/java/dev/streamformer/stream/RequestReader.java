package dev.streamformer.stream;

import dev.streamformer.schemas.TokenizedInput;
import dev.streamformer.schemas.wire.RequestDecoder;

/**
 * How a request value reaches the processor.
 *
 * @param <V> the value type
 */
interface RequestReader<V> {

    /**
     * @param topic the topic it came from
     * @param value the value
     * @param timestampMs the record's timestamp (a JSON request's created_at when it has none)
     * @return the request
     * @throws org.apache.kafka.common.errors.SerializationException when the bytes are not a request
     * @throws dev.streamformer.schemas.wire.RegistryUnavailableException when its schema cannot be fetched now
     */
    TokenizedInput decode(String topic, V value, long timestampMs);

    /** @return the value as read, or null when only the decoded request is at hand */
    byte[] bytes(V value);

    /**
     * Raw bytes from a topic, decoded here in any format {@link RequestDecoder} reads.
     *
     * @param decoder the decoder, with the configured schema registry
     * @return the reader
     */
    static RequestReader<byte[]> bytes(final RequestDecoder decoder) {
        return new RequestReader<>() {
            @Override
            public TokenizedInput decode(final String topic, final byte[] value, final long timestampMs) {
                return decoder.decode(topic, value, timestampMs);
            }

            @Override
            public byte[] bytes(final byte[] value) {
                return value;
            }
        };
    }

    /** Requests the application's own stream decoded. */
    RequestReader<TokenizedInput> DECODED = new RequestReader<>() {
        @Override
        public TokenizedInput decode(final String topic, final TokenizedInput value, final long timestampMs) {
            return value;
        }

        @Override
        public byte[] bytes(final TokenizedInput value) {
            return null;
        }
    };
}
