package dev.streamformer.cli;

import java.util.Locale;
import java.util.Properties;

import org.apache.kafka.common.serialization.Deserializer;

import dev.streamformer.schemas.serde.StreamformerSerdes;
import dev.streamformer.schemas.wire.SchemaRegistryClient;
import dev.streamformer.schemas.wire.WireFormat;
import dev.streamformer.schemas.wire.WireSerdes;
import dev.streamformer.stream.StreamformerAppConfig;

/** The Streamformer topics, their configured names and their value decoders. */
enum TopicKind {
    REQUESTS(StreamformerAppConfig.TOPIC_REQUESTS_CONFIG),
    PREDICTIONS(StreamformerAppConfig.TOPIC_PREDICTIONS_CONFIG),
    LATENCY(StreamformerAppConfig.TOPIC_LATENCY_CONFIG),
    DEAD_LETTERS(StreamformerAppConfig.TOPIC_DEAD_LETTERS_CONFIG),
    STATS(StreamformerAppConfig.TOPIC_STATS_CONFIG);

    private final String key;

    TopicKind(final String key) {
        this.key = key;
    }

    /**
     * @param props the properties, for configured names
     * @return the topic name
     */
    String topic(final Properties props) {
        return new StreamformerAppConfig(props).getString(key);
    }

    /**
     * @param registry the registry of framed records, or null
     * @return a reader of the topic's records in every format (framed ones need the registry)
     */
    Deserializer<?> deserializer(final SchemaRegistryClient registry) {
        final WireSerdes any = new WireSerdes(WireFormat.AVRO, registry);
        return switch (this) {
            case REQUESTS -> any.tokenizedInput().deserializer();
            case PREDICTIONS -> any.prediction().deserializer();
            case LATENCY -> any.latencyEvent().deserializer();
            case DEAD_LETTERS -> any.deadLetter().deserializer();
            case STATS -> StreamformerSerdes.latencyStats();
        };
    }

    /**
     * @param name requests, predictions, latency, dead-letters or stats
     * @return the kind
     */
    static TopicKind parse(final String name) {
        try {
            return valueOf(name.toUpperCase(Locale.ROOT).replace('-', '_'));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("Unknown topic kind '" + name
                    + "'; use requests, predictions, latency, dead-letters or stats", e);
        }
    }
}
