package dev.streamformer.stream;

import dev.streamformer.schemas.TokenizedInput;
import dev.streamformer.schemas.serde.SingleObjectSerde;
import dev.streamformer.schemas.serde.StreamformerSerdes;

/**
 * How a request value reaches the processor.
 *
 * @param <V> the value type
 */
interface RequestReader<V> {

    /**
     * @param topic the topic it came from
     * @param value the value
     * @return the request
     * @throws org.apache.kafka.common.errors.SerializationException when the bytes are not a request
     */
    TokenizedInput decode(String topic, V value);

    /** @return the value as read, or null when only the decoded request is at hand */
    byte[] bytes(V value);

    /** Raw bytes from a topic, decoded here. */
    RequestReader<byte[]> BYTES = new RequestReader<>() {
        private final SingleObjectSerde<TokenizedInput> serde = StreamformerSerdes.tokenizedInput();

        @Override
        public TokenizedInput decode(final String topic, final byte[] value) {
            return serde.deserialize(topic, value);
        }

        @Override
        public byte[] bytes(final byte[] value) {
            return value;
        }
    };

    /** Requests the application's own stream decoded. */
    RequestReader<TokenizedInput> DECODED = new RequestReader<>() {
        @Override
        public TokenizedInput decode(final String topic, final TokenizedInput value) {
            return value;
        }

        @Override
        public byte[] bytes(final TokenizedInput value) {
            return null;
        }
    };
}
