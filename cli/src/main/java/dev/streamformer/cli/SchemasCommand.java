package dev.streamformer.cli;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;

import org.apache.avro.Schema;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import dev.streamformer.schemas.DeadLetter;
import dev.streamformer.schemas.LatencyEvent;
import dev.streamformer.schemas.Prediction;
import dev.streamformer.schemas.TokenizedInput;
import dev.streamformer.schemas.serde.Fingerprints;
import dev.streamformer.schemas.serde.StreamformerSerdes;
import dev.streamformer.schemas.wire.RegistryFramed;
import dev.streamformer.schemas.wire.SchemaRegistryClient;
import dev.streamformer.stream.StreamformerAppConfig;
import dev.streamformer.stream.StreamformerConfig;

/** Prints every schema's single-object fingerprint and parsing canonical form, or registers the schemas. */
@Command(name = "schemas", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Prints, for every schema of the four topics (and the request schema's earlier version the"
                + " processor still reads), the fingerprint that Avro single-object encoding puts after C3 01 (hex of"
                + " the 8 little-endian bytes of CRC-64-AVRO) and the parsing canonical form it is computed from.",
                "A producer in another language must write exactly this fingerprint; Apache Avro's Python library"
                + " 1.11-1.12 computes a different one for schemas with a timestamp-millis field (README, Python).",
                "--register registers the request and output schemas at a schema registry instead, under the topic"
                + " name strategy's subjects (<topic>-value, topic names from --config), and prints their ids: for"
                + " a registry where producers may not register, or a processor with"
                + " streamformer.auto.register.schemas=false.",
                "--json-schema prints the JSON Schema of a JSON request."})
final class SchemasCommand implements Callable<Integer> {

    @Option(names = "--no-canonical", description = "Print the fingerprints only.")
    private boolean fingerprintsOnly;

    @Option(names = "--register", description = "Register the schemas at the schema registry (--registry-url, or"
            + " streamformer.schema.registry.url in --config) and print subject and id.")
    private boolean register;

    @Option(names = "--registry-url", paramLabel = "<url>", description = "The registry's Confluent-compatible API"
            + " (Apicurio: http://host:8080/apis/ccompat/v7).")
    private String registryUrl;

    @Option(names = "--json-schema", description = "Print the JSON Schema of requests written as JSON.")
    private boolean jsonSchema;

    @Mixin
    private KafkaOptions kafka;

    @Override
    public Integer call() throws Exception {
        if (jsonSchema) {
            try (var in = TokenizedInput.class.getResourceAsStream("/dev/streamformer/schemas/json/TokenizedInput.schema.json")) {
                System.out.write(in.readAllBytes());
                System.out.flush();
            }
            return 0;
        }
        if (register) {
            return register();
        }
        for (final Map.Entry<String, Schema> e : StreamformerSerdes.schemas().entrySet()) {
            System.out.printf("%-26s %s%n", e.getKey(), Fingerprints.hex(Fingerprints.of(e.getValue())));
            if (!fingerprintsOnly) {
                System.out.println("  " + Fingerprints.canonicalForm(e.getValue()));
            }
        }
        return 0;
    }

    private int register() throws Exception {
        final Properties all = kafka.properties();
        if (registryUrl != null) {
            all.put(StreamformerConfig.SCHEMA_REGISTRY_URL_CONFIG, registryUrl);
        }
        final SchemaRegistryClient registry = new StreamformerConfig(all).schemaRegistry();
        if (registry == null) {
            throw new IllegalArgumentException("--register needs a registry: give --registry-url or set "
                    + StreamformerConfig.SCHEMA_REGISTRY_URL_CONFIG + " in --config");
        }
        final StreamformerAppConfig topics = new StreamformerAppConfig(all);
        final Map<String, Schema> subjects = new LinkedHashMap<>();
        subjects.put(RegistryFramed.subject(topics.requestsTopic()), TokenizedInput.getClassSchema());
        subjects.put(RegistryFramed.subject(topics.predictionsTopic()), Prediction.getClassSchema());
        subjects.put(RegistryFramed.subject(topics.getString(StreamformerAppConfig.TOPIC_SHADOW_CONFIG)),
                Prediction.getClassSchema());
        subjects.put(RegistryFramed.subject(topics.latencyTopic()), LatencyEvent.getClassSchema());
        subjects.put(RegistryFramed.subject(topics.deadLettersTopic()), DeadLetter.getClassSchema());
        System.out.println("registry " + registry.describe());
        for (final Map.Entry<String, Schema> e : subjects.entrySet()) {
            System.out.printf("%-40s %-36s id %d%n", e.getKey(), e.getValue().getFullName(),
                    registry.register(e.getKey(), e.getValue()));
        }
        return 0;
    }
}
