package dev.streamformer.stream;

import java.util.Map;

import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;

import dev.streamformer.kafka.internals.BrokerCheck;

/**
 * The standalone processor's and the command line's own settings, beside the inference step's
 * ({@link StreamformerConfig}): the topics the processor reads and writes, the statistics app, the
 * health endpoint, start-up and shutdown. An application that embeds the step does not use them.
 */
public final class StreamformerAppConfig extends AbstractConfig {

    /** Topic of the requests. */
    public static final String TOPIC_REQUESTS_CONFIG = "streamformer.topic.requests";

    /** What {@link #TOPIC_REQUESTS_CONFIG} does, as the README's table shows it. */
    public static final String TOPIC_REQUESTS_DOC = "Topic the processor reads TokenizedInput requests from.";

    /** Topic of the predictions. */
    public static final String TOPIC_PREDICTIONS_CONFIG = "streamformer.topic.predictions";

    /** What {@link #TOPIC_PREDICTIONS_CONFIG} does, as the README's table shows it. */
    public static final String TOPIC_PREDICTIONS_DOC = "Topic the processor writes one Prediction per valid request to.";

    /** Topic of the latency events. */
    public static final String TOPIC_LATENCY_CONFIG = "streamformer.topic.latency";

    /** What {@link #TOPIC_LATENCY_CONFIG} does, as the README's table shows it. */
    public static final String TOPIC_LATENCY_DOC = "Topic the processor writes one LatencyEvent per predicted request to.";

    /** Topic of the dead letters. */
    public static final String TOPIC_DEAD_LETTERS_CONFIG = "streamformer.topic.dead.letters";

    /** What {@link #TOPIC_DEAD_LETTERS_CONFIG} does, as the README's table shows it. */
    public static final String TOPIC_DEAD_LETTERS_DOC = "Topic the processor writes a DeadLetter to for every record it cannot serve.";

    /** Topic of the windowed latency statistics. */
    public static final String TOPIC_STATS_CONFIG = "streamformer.topic.stats";

    /** What {@link #TOPIC_STATS_CONFIG} does, as the README's table shows it. */
    public static final String TOPIC_STATS_DOC = "Topic `streamformer stats` writes one LatencyStats per model version and window to, and `monitor`"
            + " reads by default.";

    /** Length of a statistics window. */
    public static final String STATS_WINDOW_MS_CONFIG = "streamformer.stats.window.ms";

    /** What {@link #STATS_WINDOW_MS_CONFIG} does, as the README's table shows it. */
    public static final String STATS_WINDOW_MS_DOC = "Length of the tumbling windows of `streamformer stats`, in ms of the requests' record time.";

    /** How long a statistics window waits for late events. */
    public static final String STATS_GRACE_MS_CONFIG = "streamformer.stats.grace.ms";

    /** What {@link #STATS_GRACE_MS_CONFIG} does, as the README's table shows it. */
    public static final String STATS_GRACE_MS_DOC = "How long a statistics window stays open for late latency events after its end, in ms; its record"
            + " is written once the stream's time passes end + grace (so a window closes when later"
            + " events arrive).";

    /** The topic of shadow predictions. */
    public static final String TOPIC_SHADOW_CONFIG = "streamformer.topic.shadow";

    /** What {@link #TOPIC_SHADOW_CONFIG} does, as the README's table shows it. */
    public static final String TOPIC_SHADOW_DOC = "Topic the predictions of a shadow candidate go to (`model publish --shadow`); never the"
            + " predictions topic.";

    /** Port of the HTTP health and readiness endpoint. */
    public static final String HEALTH_PORT_CONFIG = "streamformer.health.port";

    /** What {@link #HEALTH_PORT_CONFIG} does, as the README's table shows it. */
    public static final String HEALTH_PORT_DOC = "Port of the HTTP health endpoint: GET /health/live answers 200 unless the processor failed,"
            + " GET /health/ready answers 200 only while every stream thread runs (503 otherwise)."
            + " -1 = no endpoint, 0 = any free port.";

    /** The longest a command waits for a broker to answer before it fails. */
    public static final String CONNECT_TIMEOUT_MS_CONFIG = BrokerCheck.TIMEOUT_KEY;

    /** What {@link #CONNECT_TIMEOUT_MS_CONFIG} does, as the README's table shows it. */
    public static final String CONNECT_TIMEOUT_MS_DOC = "How long run, produce, consume and monitor wait for a broker to answer at start-up, in ms;"
            + " then they exit 1 with \"No Kafka broker answered at <address> within 10 s: start one ..."
            + " or point -b / bootstrap.servers at a running cluster\".";

    /** The address the health endpoint listens on. */
    public static final String HEALTH_BIND_CONFIG = "streamformer.health.bind";

    /** What {@link #HEALTH_BIND_CONFIG} does, as the README's table shows it. */
    public static final String HEALTH_BIND_DOC = "Address the health endpoint listens on: 0.0.0.0 (every interface, what probes from outside the"
            + " container need), or 127.0.0.1 to keep it on the host.";

    /** The longest a clean shutdown may take. */
    public static final String SHUTDOWN_TIMEOUT_MS_CONFIG = "streamformer.shutdown.timeout.ms";

    /** What {@link #SHUTDOWN_TIMEOUT_MS_CONFIG} does, as the README's table shows it. */
    public static final String SHUTDOWN_TIMEOUT_MS_DOC = "On SIGTERM or Ctrl-C the processor finishes the forward pass in flight, commits, and exits"
            + " within this time; requests still buffered stay in the changelogged buffer for the next"
            + " owner of the partition.";


    /** Partitions of topics the processor creates. */
    public static final String TOPIC_PARTITIONS_CONFIG = "streamformer.topic.partitions";

    /** What {@link #TOPIC_PARTITIONS_CONFIG} does, as the README's table shows it. */
    public static final String TOPIC_PARTITIONS_DOC = "Partitions of the topics the processor creates; the request partitions bound the parallelism.";

    /** retention.ms of topics the processor creates. */
    public static final String TOPIC_RETENTION_MS_CONFIG = "streamformer.topic.retention.ms";

    /** What {@link #TOPIC_RETENTION_MS_CONFIG} does, as the README's table shows it. */
    public static final String TOPIC_RETENTION_MS_DOC = "retention.ms of the topics the processor creates; -2 takes the broker default, -1 keeps forever.";

    private static final ConfigDef CONFIG = new ConfigDef()
            .define(TOPIC_REQUESTS_CONFIG, Type.STRING, "streamformer-requests", Importance.HIGH,
                    TOPIC_REQUESTS_DOC)
            .define(TOPIC_PREDICTIONS_CONFIG, Type.STRING, "streamformer-predictions", Importance.HIGH,
                    TOPIC_PREDICTIONS_DOC)
            .define(TOPIC_LATENCY_CONFIG, Type.STRING, "streamformer-latency", Importance.MEDIUM,
                    TOPIC_LATENCY_DOC)
            .define(TOPIC_DEAD_LETTERS_CONFIG, Type.STRING, "streamformer-dead-letters", Importance.HIGH,
                    TOPIC_DEAD_LETTERS_DOC)
            .define(TOPIC_STATS_CONFIG, Type.STRING, "streamformer-latency-stats", Importance.MEDIUM,
                    TOPIC_STATS_DOC)
            .define(STATS_WINDOW_MS_CONFIG, Type.LONG, 10_000L, Range.atLeast(1), Importance.MEDIUM,
                    STATS_WINDOW_MS_DOC)
            .define(STATS_GRACE_MS_CONFIG, Type.LONG, 5_000L, Range.atLeast(0), Importance.LOW,
                    STATS_GRACE_MS_DOC)
            .define(TOPIC_SHADOW_CONFIG, Type.STRING, "streamformer-shadow-predictions", Importance.LOW,
                    TOPIC_SHADOW_DOC)
            .define(TOPIC_PARTITIONS_CONFIG, Type.INT, 4, Range.atLeast(1), Importance.MEDIUM,
                    TOPIC_PARTITIONS_DOC)
            .define(TOPIC_RETENTION_MS_CONFIG, Type.LONG, -2L, Importance.LOW,
                    TOPIC_RETENTION_MS_DOC)
            .define(HEALTH_PORT_CONFIG, Type.INT, -1, Range.atLeast(-1), Importance.MEDIUM,
                    HEALTH_PORT_DOC)
            .define(CONNECT_TIMEOUT_MS_CONFIG, Type.LONG, BrokerCheck.DEFAULT_TIMEOUT_MS, Range.atLeast(1), Importance.MEDIUM,
                    CONNECT_TIMEOUT_MS_DOC)
            .define(HEALTH_BIND_CONFIG, Type.STRING, "0.0.0.0", Importance.LOW,
                    HEALTH_BIND_DOC)
            .define(SHUTDOWN_TIMEOUT_MS_CONFIG, Type.LONG, 30_000L, Range.atLeast(0), Importance.LOW,
                    SHUTDOWN_TIMEOUT_MS_DOC);

    /** @return a copy of the standalone processor's own keys, without the inference step's */
    public static ConfigDef ownConfigDef() {
        return new ConfigDef(CONFIG);
    }

    /** @return a copy of every key the standalone processor reads: the inference step's and its own */
    public static ConfigDef configDef() {
        final ConfigDef all = StreamformerConfig.configDef();
        CONFIG.configKeys().values().forEach(all::define);
        return all;
    }

    /**
     * The README's configuration tables, generated from the definitions and
     * {@link KafkaDefaults#KAFKA_DEFAULTS} so that they cannot drift (ConfigDocsTest compares them with
     * the README; {@code streamformer config} prints them).
     *
     * @return the inference step's keys, the standalone processor's, and the Kafka defaults, as three Markdown tables
     */
    public static String markdown() {
        final StringBuilder out = new StringBuilder("Inference keys (the processor, and an application that embeds the"
                + " inference step):\n\n");
        table(out, StreamformerConfig.configDef());
        out.append("\nStandalone processor and command-line keys:\n\n");
        table(out, CONFIG);
        out.append("\nKafka defaults the processor sets (override them like any other key; `KafkaDefaults.under` gives an"
                + " embedding application the same):\n\n")
                .append("| key | default | why |\n|---|---|---|\n");
        for (final KafkaDefaults.KafkaDefault d : KafkaDefaults.KAFKA_DEFAULTS) {
            out.append("| `").append(d.key()).append("` | `").append(d.value()).append("` | ")
                    .append(d.reason().replace("|", "\\|")).append(" |\n");
        }
        return out.toString();
    }

    private static void table(final StringBuilder out, final ConfigDef def) {
        out.append("| key | default | meaning |\n|---|---|---|\n");
        for (final ConfigDef.ConfigKey key : def.configKeys().values()) {
            final Object value = key.defaultValue;
            final String shown = value == null || value.toString().isEmpty() ? "empty" : "`" + value + "`";
            out.append("| `").append(key.name).append("` | ").append(shown).append(" | ")
                    .append(key.documentation.replace("|", "\\|")).append(" |\n");
        }
    }

    /**
     * Reads every key the standalone processor knows: its own and the inference step's.
     *
     * @param originals all properties; keys it does not define are ignored here and passed to Kafka
     */
    public StreamformerAppConfig(final Map<?, ?> originals) {
        super(configDef(), originals, false);
    }

    /** @return the request topic */
    public String requestsTopic() {
        return getString(TOPIC_REQUESTS_CONFIG);
    }

    /** @return the prediction topic */
    public String predictionsTopic() {
        return getString(TOPIC_PREDICTIONS_CONFIG);
    }

    /** @return the latency topic */
    public String latencyTopic() {
        return getString(TOPIC_LATENCY_CONFIG);
    }

    /** @return the dead-letter topic */
    public String deadLettersTopic() {
        return getString(TOPIC_DEAD_LETTERS_CONFIG);
    }
}
