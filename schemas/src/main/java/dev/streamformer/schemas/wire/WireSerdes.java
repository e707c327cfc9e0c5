package dev.streamformer.schemas.wire;

import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;

import dev.streamformer.schemas.DeadLetter;
import dev.streamformer.schemas.LatencyEvent;
import dev.streamformer.schemas.Prediction;
import dev.streamformer.schemas.TokenizedInput;
import dev.streamformer.schemas.serde.SingleObjectSerde;
import dev.streamformer.schemas.serde.StreamformerSerdes;

/**
 * Serdes of the topics' records in one format: Avro single-object encoding (no registry), a schema
 * registry's framing (the schema registered, or looked up, under {@code <topic>-value}), or JSON
 * ({@link JsonRecords}; requests as {@link JsonRequests} reads them). Their deserializers read
 * every format, told apart by the first bytes, so a reader need not know what a writer chose; a
 * framed record needs the registry.
 *
 * @param format the format written
 * @param registry the registry, required for {@link WireFormat#CONFLUENT}, else may be null
 */
public record WireSerdes(WireFormat format, SchemaRegistryClient registry) {

    /**
     * @throws IllegalArgumentException when the registry framing is asked for without a registry
     */
    public WireSerdes {
        if (format == WireFormat.CONFLUENT && registry == null) {
            throw new IllegalArgumentException("The format confluent needs a schema registry: set"
                    + " streamformer.schema.registry.url (on the command line: --registry-url)");
        }
    }

    /**
     * @param format the format written
     * @param registryUrl the schema registry's Confluent-compatible API ({@code http://host:8080/apis/ccompat/v7} on
     *     Apicurio), or null for none
     * @return serdes that write the format and read every format
     */
    public static WireSerdes of(final WireFormat format, final String registryUrl) {
        return new WireSerdes(format, registryUrl == null ? null
                : SchemaRegistryClient.of(java.util.Map.of(SchemaRegistryClient.URL, registryUrl)));
    }

    /** @return the serde of requests */
    public Serde<TokenizedInput> tokenizedInput() {
        return serde(TokenizedInput.class, StreamformerSerdes.tokenizedInput());
    }

    /** @return the serde of predictions (and shadow predictions) */
    public Serde<Prediction> prediction() {
        return serde(Prediction.class, StreamformerSerdes.prediction());
    }

    /** @return the serde of latency events */
    public Serde<LatencyEvent> latencyEvent() {
        return serde(LatencyEvent.class, StreamformerSerdes.latencyEvent());
    }

    /** @return the serde of dead letters */
    public Serde<DeadLetter> deadLetter() {
        return serde(DeadLetter.class, StreamformerSerdes.deadLetter());
    }

    private <T extends SpecificRecord> Serde<T> serde(final Class<T> type, final SingleObjectSerde<T> singleObject) {
        final RegistryFramed<T> framed = registry == null ? null : new RegistryFramed<>(type, registry);
        final Serializer<T> writer = switch (format) {
            case AVRO -> singleObject;
            case CONFLUENT -> framed;
            case JSON -> (topic, record) -> record == null ? null : JsonRecords.write(record);
        };
        final Deserializer<T> reader = (topic, bytes) -> {
            if (bytes == null) {
                return null;
            }
            final WireFormat found = WireFormat.of(bytes);
            if (found == null) {
                throw new SerializationException("Value in topic " + topic + " is neither Avro single-object, a schema"
                        + " registry's framing, nor JSON");
            }
            return switch (found) {
                case AVRO -> singleObject.deserialize(topic, bytes);
                case JSON -> type == TokenizedInput.class ? type.cast(JsonRequests.read(bytes, System.currentTimeMillis()))
                        : JsonRecords.read(bytes, type);
                case CONFLUENT -> {
                    if (framed == null) {
                        throw new SerializationException("Value in topic " + topic + " is in a schema registry's framing"
                                + " (schema id " + RegistryFramed.id(bytes) + "): give the registry's URL"
                                + " (streamformer.schema.registry.url, or --registry-url)");
                    }
                    yield framed.deserialize(topic, bytes);
                }
            };
        };
        return Serdes.serdeFrom(writer, reader);
    }
}
