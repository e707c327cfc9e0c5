package dev.streamformer.cli;

import java.util.Properties;

import dev.streamformer.schemas.wire.SchemaRegistryClient;
import dev.streamformer.schemas.wire.WireFormat;
import dev.streamformer.schemas.wire.WireSerdes;
import dev.streamformer.stream.StreamformerConfig;
import picocli.CommandLine.Option;

/**
 * The wire format a command writes, and the schema registry of framed records. The registry comes
 * from {@code --registry-url}, else from {@code streamformer.schema.registry.url} (with its auth and
 * TLS keys) in the properties.
 */
final class FormatOptions {

    @Option(names = "--format", paramLabel = "<format>", defaultValue = "avro",
            description = "avro (single-object encoding, no registry), confluent (a schema registry's framing: 00 +"
                    + " 4-byte schema id; needs --registry-url) or json (default: ${DEFAULT-VALUE}).")
    private String format;

    @Option(names = "--registry-url", paramLabel = "<url>",
            description = "Schema registry's Confluent-compatible API, for --format confluent and to read framed records"
                    + " (Apicurio: http://host:8080/apis/ccompat/v7; default: streamformer.schema.registry.url from"
                    + " --config).")
    private String registryUrl;

    /** @return the format asked for */
    WireFormat format() {
        return WireFormat.parse(format);
    }

    /**
     * @param all the command's properties
     * @return the registry, or null when none is given
     */
    SchemaRegistryClient registry(final Properties all) {
        final Properties p = new Properties();
        p.putAll(all);
        if (registryUrl != null) {
            p.put(StreamformerConfig.SCHEMA_REGISTRY_URL_CONFIG, registryUrl);
        }
        return new StreamformerConfig(p).schemaRegistry();
    }

    /**
     * @param all the command's properties
     * @return serdes that write the format asked for and read every format
     */
    WireSerdes serdes(final Properties all) {
        return new WireSerdes(format(), registry(all));
    }
}
