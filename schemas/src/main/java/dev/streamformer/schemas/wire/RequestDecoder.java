package dev.streamformer.schemas.wire;

import org.apache.kafka.common.errors.SerializationException;

import dev.streamformer.schemas.TokenizedInput;
import dev.streamformer.schemas.serde.SingleObjectSerde;
import dev.streamformer.schemas.serde.StreamformerSerdes;

/**
 * Reads a request in any of the three formats, told apart by its first bytes, so that producers
 * can move from one to another one at a time on the same topic: Avro single-object encoding
 * (C3 01 + fingerprint), a schema registry's framing (00 + 4-byte id; needs a registry), or a JSON
 * object ({@code {}).
 *
 * <p>Instances are thread-safe.
 */
public final class RequestDecoder {

    private final SingleObjectSerde<TokenizedInput> singleObject = StreamformerSerdes.tokenizedInput();
    private final SchemaRegistryClient registry;
    private final RegistryFramed<TokenizedInput> framed;

    /** @param registry the registry of framed requests, or null when none is configured */
    public RequestDecoder(final SchemaRegistryClient registry) {
        this.registry = registry;
        this.framed = registry == null ? null : new RegistryFramed<>(TokenizedInput.class, registry);
    }

    /** @return the registry, or null */
    public SchemaRegistryClient registry() {
        return registry;
    }

    /**
     * @param topic the topic it came from
     * @param value the value's bytes
     * @param timestampMs the record's timestamp: a JSON request's created_at when it carries none
     * @return the request
     * @throws SerializationException naming what is wrong and the fix
     * @throws RegistryUnavailableException when a framed request's schema cannot be fetched now
     */
    public TokenizedInput decode(final String topic, final byte[] value, final long timestampMs) {
        final WireFormat format = WireFormat.of(value);
        if (format == null) {
            throw new SerializationException("Value in topic " + topic + " is not a request in any format this"
                    + " processor reads" + (value == null || value.length == 0 ? " (it is empty)" : " (it starts with "
                            + String.format("%02X", value[0] & 0xff) + ")")
                    + ": produce a TokenizedInput in Avro single-object encoding (C3 01 + fingerprint), in a schema"
                    + " registry's framing (00 + 4-byte id), or as a JSON object ({...}, schemas/src/main/json/TokenizedInput.schema.json)");
        }
        return switch (format) {
            case AVRO -> singleObject.deserialize(topic, value);
            case JSON -> JsonRequests.read(value, timestampMs);
            case CONFLUENT -> {
                if (framed == null) {
                    throw new SerializationException("Value in topic " + topic + " is in a schema registry's framing"
                            + " (00 + schema id " + (value.length >= RegistryFramed.HEADER ? RegistryFramed.id(value) : -1)
                            + ") but no registry is configured: set streamformer.schema.registry.url to the registry the"
                            + " producer uses");
                }
                yield framed.deserialize(topic, value);
            }
        };
    }
}
