package dev.streamformer.stream;

import java.util.Map;

import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;

import dev.streamformer.kafka.BrokerCheck;
import dev.streamformer.model.EngineSettings;
import dev.streamformer.model.InferenceEngine;

/**
 * The processor's own settings, all under {@code streamformer.}. Every other key of the properties
 * file (Kafka Streams, consumer, producer, admin, security) passes through to Kafka unchanged.
 */
public final class StreamformerConfig extends AbstractConfig {

    /** Topic of the requests. */
    public static final String TOPIC_REQUESTS = "streamformer.topic.requests";
    /** Topic of the predictions. */
    public static final String TOPIC_PREDICTIONS = "streamformer.topic.predictions";
    /** Topic of the latency events. */
    public static final String TOPIC_LATENCY = "streamformer.topic.latency";
    /** Topic of the dead letters. */
    public static final String TOPIC_DEAD_LETTERS = "streamformer.topic.dead.letters";
    /** Topic of the windowed latency statistics. */
    public static final String TOPIC_STATS = "streamformer.topic.stats";
    /** Length of a statistics window. */
    public static final String STATS_WINDOW_MS = "streamformer.stats.window.ms";
    /** How long a statistics window waits for late events. */
    public static final String STATS_GRACE_MS = "streamformer.stats.grace.ms";
    /** Partitions of topics the processor creates. */
    public static final String TOPIC_PARTITIONS = "streamformer.topic.partitions";
    /** Replication factor of topics the processor creates. */
    public static final String TOPIC_REPLICATION = "streamformer.topic.replication.factor";
    /** retention.ms of topics the processor creates. */
    public static final String TOPIC_RETENTION_MS = "streamformer.topic.retention.ms";
    /** Whether missing topics are created at start-up. */
    public static final String TOPICS_CREATE = "streamformer.topics.create";
    /** Model directory; empty means the shipped default model. */
    public static final String MODEL_DIR = "streamformer.model.dir";
    /** More models served beside the default one, as name=dir entries. */
    public static final String MODELS = "streamformer.models";
    /** The compacted topic of model releases. */
    public static final String TOPIC_MODELS = "streamformer.topic.models";
    /** The topic of shadow predictions. */
    public static final String TOPIC_SHADOW = "streamformer.topic.shadow";
    /** Compacted topic each instance writes what it serves and refuses to, for {@code model releases}. */
    public static final String TOPIC_MODEL_STATUS = "streamformer.topic.model.status";
    /** Where published versions are unpacked. */
    public static final String MODELS_CACHE_DIR = "streamformer.models.cache.dir";
    /** max.message.bytes of the models topic when the processor or a publisher creates it. */
    public static final String MODELS_MAX_MESSAGE_BYTES = "streamformer.models.max.message.bytes";
    /** The engine that runs the forward pass. */
    public static final String ENGINE = "streamformer.engine";
    /** Whether ONNX Runtime prepacks constant matrices. */
    public static final String ONNX_PREPACKING = "streamformer.onnxruntime.prepacking";
    /** Intra-op threads per stream thread. */
    public static final String INTRA_OP_THREADS = "streamformer.intra.op.threads";
    /** Requests per forward pass. */
    public static final String BATCH_SIZE = "streamformer.batch.size";
    /** Whether a batch runs as one forward pass per length bucket. */
    public static final String BATCH_LENGTH_BUCKETS = "streamformer.batch.length.buckets";
    /** Forward passes that may run at once in this JVM. */
    public static final String FORWARD_CONCURRENCY = "streamformer.forward.concurrency";
    /** The longest a request waits for its batch. */
    public static final String BATCH_MAX_WAIT_MS = "streamformer.batch.max.wait.ms";
    /** Whether too-long requests are truncated instead of dead-lettered. */
    public static final String TRUNCATE = "streamformer.truncate";
    /** The most tokens a text request is cut to. */
    public static final String TEXT_MAX_TOKENS = "streamformer.text.max.tokens";
    /** Port of the HTTP health and readiness endpoint. */
    public static final String HEALTH_PORT = "streamformer.health.port";
    /** The longest a command waits for a broker to answer before it fails. */
    public static final String CONNECT_TIMEOUT_MS = BrokerCheck.TIMEOUT_KEY;
    /** The address the health endpoint listens on. */
    public static final String HEALTH_BIND = "streamformer.health.bind";
    /** The longest a clean shutdown may take. */
    public static final String SHUTDOWN_TIMEOUT_MS = "streamformer.shutdown.timeout.ms";

    /** The definition: names, types, defaults, validators and documentation. */
    public static final ConfigDef DEFINITION = new ConfigDef()
            .define(TOPIC_REQUESTS, Type.STRING, "streamformer-requests", Importance.HIGH,
                    "Topic the processor reads TokenizedInput requests from.")
            .define(TOPIC_PREDICTIONS, Type.STRING, "streamformer-predictions", Importance.HIGH,
                    "Topic the processor writes one Prediction per valid request to.")
            .define(TOPIC_LATENCY, Type.STRING, "streamformer-latency", Importance.MEDIUM,
                    "Topic the processor writes one LatencyEvent per predicted request to.")
            .define(TOPIC_DEAD_LETTERS, Type.STRING, "streamformer-dead-letters", Importance.HIGH,
                    "Topic the processor writes a DeadLetter to for every record it cannot serve.")
            .define(TOPIC_STATS, Type.STRING, "streamformer-latency-stats", Importance.MEDIUM,
                    "Topic `streamformer stats` writes one LatencyStats per model version and window to, and `monitor`"
                            + " reads by default.")
            .define(STATS_WINDOW_MS, Type.LONG, 10_000L, Range.atLeast(1), Importance.MEDIUM,
                    "Length of the tumbling windows of `streamformer stats`, in ms of the requests' record time.")
            .define(STATS_GRACE_MS, Type.LONG, 5_000L, Range.atLeast(0), Importance.LOW,
                    "How long a statistics window stays open for late latency events after its end, in ms; its record"
                            + " is written once the stream's time passes end + grace (so a window closes when later"
                            + " events arrive).")
            .define(TOPIC_PARTITIONS, Type.INT, 4, Range.atLeast(1), Importance.MEDIUM,
                    "Partitions of the topics the processor creates; the request partitions bound the parallelism.")
            .define(TOPIC_REPLICATION, Type.SHORT, (short) -1, Importance.MEDIUM,
                    "Replication factor of the topics the processor creates; -1 takes the broker's default.replication.factor.")
            .define(TOPIC_RETENTION_MS, Type.LONG, -2L, Importance.LOW,
                    "retention.ms of the topics the processor creates; -2 takes the broker default, -1 keeps forever.")
            .define(TOPICS_CREATE, Type.BOOLEAN, true, Importance.MEDIUM,
                    "Create missing topics at start-up. When false, a missing topic stops start-up with a message naming it.")
            .define(MODEL_DIR, Type.STRING, "", Importance.HIGH,
                    "Model directory to serve (config.json with model.safetensors or model.onnx); empty serves the shipped"
                            + " default model.")
            .define(MODELS, Type.LIST, "", Importance.MEDIUM,
                    "More models to serve beside streamformer.model.dir, as name=directory entries separated by commas;"
                            + " a request's model field picks one by name (empty picks the default model), an unknown"
                            + " name is a VALIDATION dead letter. Each is loaded once per JVM.")
            .define(TOPIC_MODELS, Type.STRING, "streamformer-models", Importance.MEDIUM,
                    "Compacted topic of model releases (`streamformer model publish`, `promote`, `rollback`), keyed by"
                            + " model name. Every instance reads it from the start, serves the latest accepted release of"
                            + " each name, and switches to a new one between batches without a restart. Empty: no live"
                            + " updates.")
            .define(TOPIC_SHADOW, Type.STRING, "streamformer-shadow-predictions", Importance.LOW,
                    "Topic the predictions of a shadow candidate go to (`model publish --shadow`); never the"
                            + " predictions topic.")
            .define(TOPIC_MODEL_STATUS, Type.STRING, "streamformer-model-status", Importance.LOW,
                    "Compacted topic each instance writes a ModelStatus record to, keyed by instance id: what it serves"
                            + " and the releases it refused, when that changes and every 30 s (a tombstone when it stops"
                            + " cleanly). `model releases` shows it beside the models topic. Empty: not written.")
            .define(MODELS_CACHE_DIR, Type.STRING, "", Importance.LOW,
                    "Directory published versions are unpacked to, one subdirectory per name and version; empty:"
                            + " $STREAMFORMER_CACHE/releases, else ~/.cache/streamformer/releases.")
            .define(MODELS_MAX_MESSAGE_BYTES, Type.INT, 64 << 20, Range.atLeast(1 << 20), Importance.LOW,
                    "max.message.bytes of the models topic when it is created here: a release carries its files"
                            + " inline when they fit (the stable version and a candidate), else a location.")
            .define(ENGINE, Type.STRING, InferenceEngine.DEFAULT.configName(), ConfigDef.ValidString.in(
                    InferenceEngine.ONNXRUNTIME.configName(), InferenceEngine.PYTORCH.configName()), Importance.HIGH,
                    "Engine of the forward pass: onnxruntime (one ONNX Runtime session per model, shared by every"
                            + " stream thread; the graph is built from model.safetensors at load, or read from the"
                            + " directory's model.onnx) or pytorch (the DJL/PyTorch encoder that trains; it cannot"
                            + " serve a model.onnx).")
            .define(ONNX_PREPACKING, Type.BOOLEAN, true, Importance.LOW,
                    "Let ONNX Runtime repack constant matrices into its kernels' layout at load (onnxruntime only;"
                            + " docs/BENCHMARKS.md has its memory cost).")
            .define(INTRA_OP_THREADS, Type.INT, 1, Range.atLeast(0), Importance.MEDIUM,
                    "Intra-op threads of one forward pass (onnxruntime: the shared session's pool, caller included;"
                            + " pytorch: each stream thread's own); keep num.stream.threads x this <= cores."
                            + " 0 = engine default.")
            .define(FORWARD_CONCURRENCY, Type.INT, 0, Range.atLeast(0), Importance.MEDIUM,
                    "Forward passes that may run at once in this JVM, over all stream threads; 0 = cores /"
                            + " streamformer.intra.op.threads. Stream threads beyond it still poll, decode and produce"
                            + " while they wait, but activation memory stays that of this many passes.")
            .define(BATCH_SIZE, Type.INT, 8, Range.between(1, 1024), Importance.HIGH,
                    "Requests per forward pass. On ONNX Runtime with one intra-op thread per stream thread,"
                            + " 128-token requests ran at the same speed for batches 1 to 32 within the noise, while"
                            + " 16-token requests ran 1.39x faster in batches of 8 than one at a time; 8 keeps that gain"
                            + " at half the batch latency of 16 (docs/BENCHMARKS.md). Above 1, each task buffers valid"
                            + " requests in a changelogged state store (<application.id>-streamformer-batch-buffer-changelog)"
                            + " until the batch is full or the oldest has waited streamformer.batch.max.wait.ms; the"
                            + " buffer commits with the outputs, so a crash neither loses nor duplicates a request under"
                            + " exactly_once_v2. The store is cached and its changelog written at each commit: a request"
                            + " served within one commit interval costs the changelog one tombstone. 1 runs every request"
                            + " as it arrives, with no store.")
            .define(BATCH_LENGTH_BUCKETS, Type.BOOLEAN, true, Importance.MEDIUM,
                    "Run each batch as one forward pass per length bucket (1-16, 17-32, 33-64, 65-128, ... tokens),"
                            + " so a short request is not padded to the longest of its batch: 1.64x faster for a batch of"
                            + " 16 requests of 8-128 tokens (docs/BENCHMARKS.md). Outputs keep the order of"
                            + " the requests; a latency event's batch_size is the size of its forward pass.")
            .define(BATCH_MAX_WAIT_MS, Type.LONG, 20L, Range.atLeast(0), Importance.MEDIUM,
                    "The longest a buffered request waits for its batch to fill, in ms (checked by a wall-clock"
                            + " punctuation, so the real wait can exceed it by up to the poll interval).")
            .define(TRUNCATE, Type.BOOLEAN, false, Importance.MEDIUM,
                    "Truncate requests longer than the model's max_position_embeddings (and mark the prediction"
                            + " truncated) instead of sending them to the dead-letter topic.")
            .define(TEXT_MAX_TOKENS, Type.INT, 0, Range.atLeast(0), Importance.MEDIUM,
                    "A request may carry text instead of token ids (TokenizedInput version 2): the processor tokenizes"
                            + " it with the served model's own tokenizer.json and cuts it to this many tokens, [CLS] and"
                            + " [SEP] included (the prediction's num_tokens and truncated say what was used). 0 = the"
                            + " model's input length: where its tokenizer.json truncates (model train writes the length"
                            + " it trained at; 128 for the shipped model), else its max_position_embeddings. A smaller"
                            + " value serves long texts faster.")
            .define(HEALTH_PORT, Type.INT, -1, Range.atLeast(-1), Importance.MEDIUM,
                    "Port of the HTTP health endpoint: GET /health/live answers 200 unless the processor failed,"
                            + " GET /health/ready answers 200 only while every stream thread runs (503 otherwise)."
                            + " -1 = no endpoint, 0 = any free port.")
            .define(CONNECT_TIMEOUT_MS, Type.LONG, BrokerCheck.DEFAULT_TIMEOUT_MS, Range.atLeast(1), Importance.MEDIUM,
                    "How long run, produce, consume and monitor wait for a broker to answer at start-up, in ms;"
                            + " then they exit 1 with \"No Kafka broker answered at <address> within 10 s: start one ..."
                            + " or point -b / bootstrap.servers at a running cluster\".")
            .define(HEALTH_BIND, Type.STRING, "0.0.0.0", Importance.LOW,
                    "Address the health endpoint listens on: 0.0.0.0 (every interface, what probes from outside the"
                            + " container need), or 127.0.0.1 to keep it on the host.")
            .define(SHUTDOWN_TIMEOUT_MS, Type.LONG, 30_000L, Range.atLeast(0), Importance.LOW,
                    "On SIGTERM or Ctrl-C the processor finishes the forward pass in flight, commits, and exits"
                            + " within this time; requests still buffered stay in the changelogged buffer for the next"
                            + " owner of the partition.");

    /**
     * The README's configuration tables, generated from {@link #DEFINITION} and
     * {@link KafkaDefaults#KAFKA_DEFAULTS} so that the two cannot drift (ConfigDocsTest compares
     * them with the README; {@code streamformer config} prints them).
     *
     * @return the processor keys and the Kafka defaults as two Markdown tables
     */
    public static String markdown() {
        final StringBuilder out = new StringBuilder("Processor keys:\n\n| key | default | meaning |\n|---|---|---|\n");
        for (final ConfigDef.ConfigKey key : DEFINITION.configKeys().values()) {
            final Object value = key.defaultValue;
            final String shown = value == null || value.toString().isEmpty() ? "empty" : "`" + value + "`";
            out.append("| `").append(key.name).append("` | ").append(shown).append(" | ")
                    .append(key.documentation.replace("|", "\\|")).append(" |\n");
        }
        out.append("\nKafka defaults the processor sets (override them like any other key):\n\n")
                .append("| key | default | why |\n|---|---|---|\n");
        for (final KafkaDefaults.KafkaDefault d : KafkaDefaults.KAFKA_DEFAULTS) {
            out.append("| `").append(d.key()).append("` | `").append(d.value()).append("` | ")
                    .append(d.reason().replace("|", "\\|")).append(" |\n");
        }
        return out.toString();
    }

    /**
     * @param originals all properties; unknown keys are ignored here and passed to Kafka
     */
    public StreamformerConfig(final Map<?, ?> originals) {
        super(DEFINITION, originals, false);
    }

    /**
     * The properties without Streamformer's own keys, for Kafka Streams and its clients.
     *
     * @param all every property
     * @return the Kafka properties
     */
    public static java.util.Properties kafkaOnly(final java.util.Properties all) {
        final java.util.Properties kafka = new java.util.Properties();
        for (final String name : all.stringPropertyNames()) {
            if (!name.startsWith("streamformer.")) {
                kafka.put(name, all.getProperty(name));
            }
        }
        return kafka;
    }

    /** @return forward passes that may run at once, with 0 resolved to cores / intra-op threads */
    public int forwardConcurrency() {
        final int configured = getInt(FORWARD_CONCURRENCY);
        if (configured > 0) {
            return configured;
        }
        final int cores = Runtime.getRuntime().availableProcessors();
        final int intraOp = getInt(INTRA_OP_THREADS);
        return Math.max(1, cores / (intraOp == 0 ? cores : intraOp));
    }

    /** @return the engine, its intra-op threads and prepacking */
    public EngineSettings engineSettings() {
        return new EngineSettings(InferenceEngine.parse(getString(ENGINE)), getInt(INTRA_OP_THREADS),
                getBoolean(ONNX_PREPACKING));
    }

    /** @return the models served beside the default one, by name, in the configured order */
    public java.util.Map<String, String> extraModels() {
        final java.util.Map<String, String> models = new java.util.LinkedHashMap<>();
        for (final String entry : getList(MODELS)) {
            final int eq = entry.indexOf('=');
            if (eq <= 0 || eq == entry.length() - 1) {
                throw new org.apache.kafka.common.config.ConfigException(MODELS, entry,
                        "each entry is name=directory, for example spam=/models/spam");
            }
            final String name = entry.substring(0, eq).trim();
            if (models.put(name, entry.substring(eq + 1).trim()) != null) {
                throw new org.apache.kafka.common.config.ConfigException(MODELS, entry, "the name " + name
                        + " is given twice");
            }
        }
        return models;
    }

    /** @return where published versions are unpacked */
    public java.nio.file.Path modelsCacheDir() {
        final String configured = getString(MODELS_CACHE_DIR);
        if (!configured.isBlank()) {
            return java.nio.file.Path.of(configured);
        }
        return dev.streamformer.model.DefaultModel.cacheRoot().resolve("releases");
    }

    /** @return the request topic */
    public String requestsTopic() {
        return getString(TOPIC_REQUESTS);
    }

    /** @return the prediction topic */
    public String predictionsTopic() {
        return getString(TOPIC_PREDICTIONS);
    }

    /** @return the latency topic */
    public String latencyTopic() {
        return getString(TOPIC_LATENCY);
    }

    /** @return the dead-letter topic */
    public String deadLettersTopic() {
        return getString(TOPIC_DEAD_LETTERS);
    }
}
