package dev.streamformer.cli;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;

import dev.streamformer.stream.StreamformerConfig;
import dev.streamformer.client.CommittedReads;
import dev.streamformer.kafka.internals.BrokerCheck;
import picocli.CommandLine.Option;

/**
 * How a command reaches Kafka: a bootstrap address, a properties file in which any Kafka client or
 * Streams property (security included) passes through, and single overrides. Later sources win:
 * properties file, then {@code --bootstrap-servers}, then {@code -p key=value}.
 */
final class KafkaOptions {

    @Option(names = {"-b", "--bootstrap-servers"}, paramLabel = "<host:port,...>",
            description = "Kafka brokers (default: localhost:9092, or bootstrap.servers from --config).")
    private String bootstrapServers;

    @Option(names = {"-c", "--config"}, paramLabel = "<file>",
            description = "Properties file: any Kafka client/Streams property (security.protocol, sasl.*, ssl.*,"
                    + " ...) and any streamformer.* key.")
    private Path configFile;

    @Option(names = {"-p", "--property"}, paramLabel = "<key=value>",
            description = "One property, overriding the file; repeatable.")
    private Map<String, String> overrides = new LinkedHashMap<>();

    /**
     * Properties for a reading command: a fresh group, read_committed, no offset commits.
     *
     * @param all the merged properties
     * @param groupPrefix prefix of the random group id
     * @param fromBeginning start at the earliest offset instead of the latest
     * @return consumer properties without the processor's own keys
     */
    static Properties reader(final Properties all, final String groupPrefix, final boolean fromBeginning) {
        return CommittedReads.properties(StreamformerConfig.kafkaOnly(all), groupPrefix + UUID.randomUUID(), fromBeginning);
    }

    /**
     * The merged properties, after a broker answered at their address (within
     * {@code streamformer.connect.timeout.ms}, default 15 s).
     *
     * @return the merged properties
     * @throws IOException when the file cannot be read
     * @throws IllegalStateException when no broker answers, naming the address and the fix
     */
    Properties connect() throws IOException {
        final Properties p = properties();
        BrokerCheck.await(StreamformerConfig.kafkaOnly(p), BrokerCheck.timeout(p));
        return p;
    }

    /**
     * @return the merged properties
     * @throws IOException when the file cannot be read
     */
    Properties properties() throws IOException {
        final Properties p = new Properties();
        if (configFile != null) {
            if (!Files.isRegularFile(configFile)) {
                throw new IOException("No properties file at " + configFile);
            }
            try (Reader in = Files.newBufferedReader(configFile)) {
                p.load(in);
            }
        }
        if (bootstrapServers != null) {
            p.put("bootstrap.servers", bootstrapServers);
        }
        p.putIfAbsent("bootstrap.servers", "localhost:9092");
        p.putAll(overrides);
        return p;
    }
}
