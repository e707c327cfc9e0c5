package dev.streamformer.cli;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;

import org.apache.avro.Schema;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

import com.google.gson.GsonBuilder;

import dev.streamformer.schemas.DeadLetter;
import dev.streamformer.stream.StreamformerConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code streamformer consume}. */
@Command(name = "consume",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {"Print the records of a Streamformer topic as JSON lines (read_committed).",
            "Topic names come from the streamformer.topic.* keys of --config, else the defaults."})
final class ConsumeCommand implements Callable<Integer> {

    @Mixin
    private KafkaOptions kafka;

    @Option(names = "--topic", defaultValue = "predictions", paramLabel = "<kind>",
            description = "requests, predictions, latency, dead-letters or stats (default: ${DEFAULT-VALUE}).")
    private String topic;

    @Option(names = "--max-messages", paramLabel = "<n>", defaultValue = "0",
            description = "Stop after this many records; 0 = no limit (default: ${DEFAULT-VALUE}).")
    private long maxMessages;

    @Option(names = "--idle-timeout", paramLabel = "<seconds>", defaultValue = "0",
            description = "Stop after this many seconds without a record; 0 = never (default: ${DEFAULT-VALUE}).")
    private int idleTimeout;

    @Option(names = "--latest", description = "Start at the end of the topic instead of the beginning.")
    private boolean latest;

    @Option(names = "--group", paramLabel = "<id>", description = "Consumer group (default: a new random group).")
    private String group;

    @Option(names = "--format", paramLabel = "<format>", defaultValue = "any",
            description = "any: decode each record in whatever format it is (Avro single-object, a schema registry's"
                    + " framing, JSON; told by its first bytes) and print it as JSON; json: print each value as written,"
                    + " unchanged (default: ${DEFAULT-VALUE}).")
    private String format;

    @Option(names = "--registry-url", paramLabel = "<url>",
            description = "Schema registry that framed records' ids belong to (default: streamformer.schema.registry.url"
                    + " from --config).")
    private String registryUrl;

    @Override
    public Integer call() throws Exception {
        final TopicKind kind = TopicKind.parse(topic);
        final Properties all = kafka.connect();
        final String name = kind.topic(all);
        final Properties p = KafkaOptions.reader(all, "streamformer-consume-", !latest);
        if (group != null) {
            p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
            p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "true");
        }
        if (registryUrl != null) {
            all.put(StreamformerConfig.SCHEMA_REGISTRY_URL_CONFIG, registryUrl);
        }
        final boolean raw = switch (format) {
            case "any" -> false;
            case "json" -> true;
            default -> throw new IllegalArgumentException("--format is any or json, not " + format
                    + " (records of every format are read and shown as JSON with any)");
        };
        final Deserializer<?> values = kind.deserializer(new StreamformerConfig(all).schemaRegistry());
        long printed = 0;
        long idleSince = System.nanoTime();
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(p, new StringDeserializer(),
                new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(name));
            while (maxMessages == 0 || printed < maxMessages) {
                final var records = consumer.poll(Duration.ofMillis(500));
                if (records.isEmpty()) {
                    if (idleTimeout > 0 && System.nanoTime() - idleSince > idleTimeout * 1_000_000_000L) {
                        break;
                    }
                    continue;
                }
                idleSince = System.nanoTime();
                for (final ConsumerRecord<String, byte[]> r : records) {
                    System.out.println(raw ? new String(r.value() == null ? new byte[0] : r.value(),
                            java.nio.charset.StandardCharsets.UTF_8) : render(values, name, r));
                    if (++printed == maxMessages) {
                        break;
                    }
                }
            }
        }
        System.err.printf("%d records from %s%n", printed, name);
        return 0;
    }

    /**
     * A dead letter as JSON with its original key and value bytes in base64 (Avro's own rendering
     * prints raw bytes as escaped characters that no one can read or decode back).
     */
    static String deadLetterJson(final DeadLetter d) {
        final Map<String, Object> m = new LinkedHashMap<>();
        for (final Schema.Field f : d.getSchema().getFields()) {
            final Object v = d.get(f.pos());
            m.put(f.name(), v instanceof ByteBuffer b ? Base64.getEncoder().encodeToString(bytes(b))
                    : v == null ? null : v.toString());
        }
        m.put("bytes_encoding", "base64");
        return new GsonBuilder().serializeNulls().disableHtmlEscaping().create().toJson(m);
    }

    private static byte[] bytes(final ByteBuffer b) {
        final ByteBuffer copy = b.duplicate();
        final byte[] out = new byte[copy.remaining()];
        copy.get(out);
        return out;
    }

    private static String render(final Deserializer<?> values, final String topic, final ConsumerRecord<String, byte[]> r) {
        try {
            final Object value = values.deserialize(topic, r.value());
            return value instanceof DeadLetter d ? deadLetterJson(d) : String.valueOf(value);
        } catch (SerializationException e) {
            return "{\"partition\": " + r.partition() + ", \"offset\": " + r.offset() + ", \"undecodable\": \""
                    + e.getMessage().replace("\"", "'") + "\"}";
        }
    }
}
