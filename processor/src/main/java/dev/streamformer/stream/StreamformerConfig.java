package dev.streamformer.stream;

import java.util.Map;

import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;

import dev.streamformer.model.EngineSettings;
import dev.streamformer.model.InferenceEngine;
import dev.streamformer.schemas.wire.WireSerdes;
import dev.streamformer.schemas.wire.SchemaRegistryClient;
import dev.streamformer.schemas.wire.WireFormat;

/**
 * The inference step's settings, all under {@code streamformer.}: the models, the engine, batching,
 * validation, and the topics of live model releases. An application that embeds the step and the
 * standalone processor read them alike; the standalone processor's own keys (its topics, health
 * endpoint, shutdown) are {@link StreamformerAppConfig}'s. Every other key of the properties passes
 * through to Kafka unchanged. Keys and their documentation follow Kafka's convention: {@code X_CONFIG}
 * is the key, {@code X_DOC} what it does.
 */
public final class StreamformerConfig extends AbstractConfig {

    /** Replication factor of topics the processor creates. */
    public static final String TOPIC_REPLICATION_CONFIG = "streamformer.topic.replication.factor";

    /** What {@link #TOPIC_REPLICATION_CONFIG} does, as the README's table shows it. */
    public static final String TOPIC_REPLICATION_DOC = "Replication factor of the topics the processor creates; -1 takes the broker's default.replication.factor.";

    /** Whether missing topics are created at start-up. */
    public static final String TOPICS_CREATE_CONFIG = "streamformer.topics.create";

    /** What {@link #TOPICS_CREATE_CONFIG} does, as the README's table shows it. */
    public static final String TOPICS_CREATE_DOC = "Create missing topics at start-up. When false, a missing topic stops start-up with a message naming it.";

    /** Model directory; empty means the shipped default model. */
    public static final String MODEL_DIR_CONFIG = "streamformer.model.dir";

    /** What {@link #MODEL_DIR_CONFIG} does, as the README's table shows it. */
    public static final String MODEL_DIR_DOC = "Model directory to serve (config.json with model.safetensors or model.onnx); empty serves the shipped"
            + " default model.";

    /** More models served beside the default one, as name=dir entries. */
    public static final String MODELS_CONFIG = "streamformer.models";

    /** What {@link #MODELS_CONFIG} does, as the README's table shows it. */
    public static final String MODELS_DOC = "More models to serve beside streamformer.model.dir, as name=directory entries separated by commas;"
            + " a request's model field picks one by name (empty picks the default model), an unknown"
            + " name is a VALIDATION dead letter. Each is loaded once per JVM.";

    /** The compacted topic of model releases. */
    public static final String TOPIC_MODELS_CONFIG = "streamformer.topic.models";

    /** What {@link #TOPIC_MODELS_CONFIG} does, as the README's table shows it. */
    public static final String TOPIC_MODELS_DOC = "Compacted topic of model releases (`streamformer model publish`, `promote`, `rollback`), keyed by"
            + " model name. Every instance reads it from the start, serves the latest accepted release of"
            + " each name, and switches to a new one between batches without a restart. Empty: no live"
            + " updates.";

    /** Compacted topic each instance writes what it serves and refuses to, for {@code model releases}. */
    public static final String TOPIC_MODEL_STATUS_CONFIG = "streamformer.topic.model.status";

    /** What {@link #TOPIC_MODEL_STATUS_CONFIG} does, as the README's table shows it. */
    public static final String TOPIC_MODEL_STATUS_DOC = "Compacted topic each instance writes a ModelStatus record to, keyed by instance id: what it serves"
            + " and the releases it refused, when that changes and every 30 s (a tombstone when it stops"
            + " cleanly). `model releases` shows it beside the models topic. Empty: not written.";

    /** Where published versions are unpacked. */
    public static final String MODELS_CACHE_DIR_CONFIG = "streamformer.models.cache.dir";

    /** What {@link #MODELS_CACHE_DIR_CONFIG} does, as the README's table shows it. */
    public static final String MODELS_CACHE_DIR_DOC = "Directory published versions are unpacked to, one subdirectory per name and version; empty:"
            + " $STREAMFORMER_CACHE/releases, else ~/.cache/streamformer/releases.";

    /** max.message.bytes of the models topic when the processor or a publisher creates it. */
    public static final String MODELS_MAX_MESSAGE_BYTES_CONFIG = "streamformer.models.max.message.bytes";

    /** What {@link #MODELS_MAX_MESSAGE_BYTES_CONFIG} does, as the README's table shows it. */
    public static final String MODELS_MAX_MESSAGE_BYTES_DOC = "max.message.bytes of the models topic when it is created here: a release carries its files"
            + " inline when they fit (the stable version and a candidate), else a location.";

    /** The engine that runs the forward pass. */
    public static final String ENGINE_CONFIG = "streamformer.engine";

    /** What {@link #ENGINE_CONFIG} does, as the README's table shows it. */
    public static final String ENGINE_DOC = "Engine of the forward pass: onnxruntime (one ONNX Runtime session per model, shared by every"
            + " stream thread; the graph is built from model.safetensors at load, or read from the"
            + " directory's model.onnx) or pytorch (the DJL/PyTorch encoder that trains; it cannot"
            + " serve a model.onnx).";

    /** Whether ONNX Runtime prepacks constant matrices. */
    public static final String ONNX_PREPACKING_CONFIG = "streamformer.onnxruntime.prepacking";

    /** What {@link #ONNX_PREPACKING_CONFIG} does, as the README's table shows it. */
    public static final String ONNX_PREPACKING_DOC = "Let ONNX Runtime repack constant matrices into its kernels' layout at load (onnxruntime only;"
            + " docs/BENCHMARKS.md has its memory cost).";

    /** Intra-op threads per stream thread. */
    public static final String INTRA_OP_THREADS_CONFIG = "streamformer.intra.op.threads";

    /** What {@link #INTRA_OP_THREADS_CONFIG} does, as the README's table shows it. */
    public static final String INTRA_OP_THREADS_DOC = "Intra-op threads of one forward pass (onnxruntime: the shared session's pool, caller included;"
            + " pytorch: each stream thread's own); keep num.stream.threads x this <= cores."
            + " 0 = engine default.";

    /** Forward passes that may run at once in this JVM. */
    public static final String FORWARD_CONCURRENCY_CONFIG = "streamformer.forward.concurrency";

    /** What {@link #FORWARD_CONCURRENCY_CONFIG} does, as the README's table shows it. */
    public static final String FORWARD_CONCURRENCY_DOC = "Forward passes that may run at once in this JVM, over all stream threads; 0 = cores /"
            + " streamformer.intra.op.threads. Stream threads beyond it still poll, decode and produce"
            + " while they wait, but activation memory stays that of this many passes.";

    /** Requests per forward pass. */
    public static final String BATCH_SIZE_CONFIG = "streamformer.batch.size";

    /** What {@link #BATCH_SIZE_CONFIG} does, as the README's table shows it. */
    public static final String BATCH_SIZE_DOC = "Requests per forward pass; short requests gain most from batching"
            + " (docs/BENCHMARKS.md, batch size, has the figures behind the default). Above 1, each task buffers valid"
            + " requests in a changelogged state store (<application.id>-streamformer-batch-buffer-changelog)"
            + " until the batch is full or the oldest has waited streamformer.batch.max.wait.ms; the"
            + " buffer commits with the outputs, so a crash neither loses nor duplicates a request under"
            + " exactly_once_v2. The store is cached and its changelog written at each commit: a request"
            + " served within one commit interval costs the changelog one tombstone. 1 runs every request"
            + " as it arrives, with no store.";

    /** Whether a batch runs as one forward pass per length bucket. */
    public static final String BATCH_LENGTH_BUCKETS_CONFIG = "streamformer.batch.length.buckets";

    /** What {@link #BATCH_LENGTH_BUCKETS_CONFIG} does, as the README's table shows it. */
    public static final String BATCH_LENGTH_BUCKETS_DOC = "Run each batch as one forward pass per length bucket (1-16, 17-32, 33-64, 65-128, ... tokens),"
            + " so a short request is not padded to the longest of its batch (docs/BENCHMARKS.md, length"
            + " buckets). Outputs keep the order of the requests; a latency event's batch_size is the size of"
            + " its forward pass.";

    /** The longest a request waits for its batch. */
    public static final String BATCH_MAX_WAIT_MS_CONFIG = "streamformer.batch.max.wait.ms";

    /** What {@link #BATCH_MAX_WAIT_MS_CONFIG} does, as the README's table shows it. */
    public static final String BATCH_MAX_WAIT_MS_DOC = "The longest a buffered request waits for its batch to fill, in ms (checked by a wall-clock"
            + " punctuation, so the real wait can exceed it by up to the poll interval).";

    /** Whether too-long requests are truncated instead of dead-lettered. */
    public static final String TRUNCATE_CONFIG = "streamformer.truncate";

    /** What {@link #TRUNCATE_CONFIG} does, as the README's table shows it. */
    public static final String TRUNCATE_DOC = "Truncate requests longer than the model's max_position_embeddings (and mark the prediction"
            + " truncated) instead of sending them to the dead-letter topic.";

    /** The most tokens a text request is cut to. */
    public static final String TEXT_MAX_TOKENS_CONFIG = "streamformer.text.max.tokens";

    /** What {@link #TEXT_MAX_TOKENS_CONFIG} does, as the README's table shows it. */
    public static final String TEXT_MAX_TOKENS_DOC = "A request may carry text instead of token ids (TokenizedInput version 2): the processor tokenizes"
            + " it with the served model's own tokenizer.json and cuts it to this many tokens, [CLS] and"
            + " [SEP] included (the prediction's num_tokens and truncated say what was used). 0 = the"
            + " model's input length: where its tokenizer.json truncates (model train writes the length"
            + " it trained at; 128 for the shipped model), else its max_position_embeddings. A smaller"
            + " value serves long texts faster.";


    /** When a record of a model with exit heads leaves early. */
    public static final String EXIT_POLICY_CONFIG = "streamformer.exit.policy";

    /** What {@link #EXIT_POLICY_CONFIG} does, as the README's table shows it. */
    public static final String EXIT_POLICY_DOC = "Exit policy of served models with exit heads (model finetune --exits):"
            + " none, confidence:<p> (leave after the first layer whose exit gives a label at least p) or patience:<t>"
            + " (leave once t consecutive exits agree); a record that never qualifies runs every layer. Empty: each"
            + " model's own streamformer.exit_policy from its config.json. Models without exit heads run every layer.";

    /** Requests one pass holds for depth-wise refill. */
    public static final String EXIT_REFILL_POOL_CONFIG = "streamformer.exit.refill.pool";

    /** What {@link #EXIT_REFILL_POOL_CONFIG} does, as the README's table shows it. */
    public static final String EXIT_REFILL_POOL_DOC = "Depth-wise refill under early exit: a task's buffer flushes at this"
            + " many requests (or streamformer.batch.max.wait.ms) and its pass keeps streamformer.batch.size rows"
            + " running; when records leave, the next requests of the pool take their rows and run layer 1 in the same"
            + " matrix product as the deeper rows (one layer session for an all-shared plan; rows grouped by weight set"
            + " otherwise). 0: off, a batch shrinks as its records leave. Must be more than streamformer.batch.size."
            + " On the shipped model (1.03 layers per mail) a pool of twice the batch served 0.96x of shrinking"
            + " batches; try it where records stay for several layers (docs/BENCHMARKS.md, Refill in the processor).";

    /** Base URLs of the schema registry of framed requests and outputs. */
    public static final String SCHEMA_REGISTRY_URL_CONFIG = "streamformer." + SchemaRegistryClient.URL;

    /** What {@link #SCHEMA_REGISTRY_URL_CONFIG} does, as the README's table shows it. */
    public static final String SCHEMA_REGISTRY_URL_DOC = "Schema registry of requests in the registry framing (00 + 4-byte schema id: Confluent's and"
            + " Apicurio's Avro serializers) and of outputs with streamformer.output.format=confluent; comma-separated"
            + " base URLs of its Confluent-compatible API (Apicurio: http://host:8080/apis/ccompat/v7). Writer schemas"
            + " are fetched by id once and cached. A registry that does not answer is retried (log and /metrics say"
            + " so), never blamed on the record. Empty: framed requests are dead letters that say to set it. The"
            + " streamformer.basic.auth.* and streamformer.schema.registry.ssl.* keys are the Confluent serdes' own.";

    /** Where the registry's basic-auth credentials come from. */
    public static final String SCHEMA_REGISTRY_CREDENTIALS_SOURCE_CONFIG = "streamformer." + SchemaRegistryClient.CREDENTIALS_SOURCE;

    /** The registry's basic-auth user:password. */
    public static final String SCHEMA_REGISTRY_USER_INFO_CONFIG = "streamformer." + SchemaRegistryClient.USER_INFO;

    /** Whether output schemas are registered or only looked up. */
    public static final String SCHEMA_REGISTRY_AUTO_REGISTER_CONFIG = "streamformer." + SchemaRegistryClient.AUTO_REGISTER;

    /** Prefix of the registry's TLS keys. */
    public static final String SCHEMA_REGISTRY_SSL_PREFIX = "streamformer." + SchemaRegistryClient.SSL_PREFIX;

    /** The format of predictions, latency events and dead letters. */
    public static final String OUTPUT_FORMAT_CONFIG = "streamformer.output.format";

    /** What {@link #OUTPUT_FORMAT_CONFIG} does, as the README's table shows it. */
    public static final String OUTPUT_FORMAT_DOC = "Format of the predictions, latency events and dead letters: avro (single-object encoding, C3 01 +"
            + " fingerprint; no registry), confluent (00 + the schema id under <topic>-value at"
            + " streamformer.schema.registry.url, read by Confluent's and Apicurio's deserializers) or json (one JSON"
            + " object per record: Avro field names, timestamps in ms, bytes in base64). Requests are read in every"
            + " format whatever this says.";

    /** Request headers copied to everything written for the request. */
    public static final String HEADERS_PASSTHROUGH_CONFIG = "streamformer.headers.passthrough";

    /** What {@link #HEADERS_PASSTHROUGH_CONFIG} does, as the README's table shows it. */
    public static final String HEADERS_PASSTHROUGH_DOC = "Headers copied from a request to its prediction, latency event and shadow predictions (W3C"
            + " trace context and a correlation id by default; names are case-sensitive, as Kafka's). A dead letter"
            + " carries all the request's headers. Empty: none.";

    /** Where traces go: none, otlp or zipkin. */
    public static final String TRACING_EXPORTER_CONFIG = "streamformer.tracing.exporter";

    /** What {@link #TRACING_EXPORTER_CONFIG} does, as the README's table shows it. */
    public static final String TRACING_EXPORTER_DOC = "Tracing with OpenTelemetry: none (off), otlp (OTLP over HTTP, to a collector, Jaeger or"
            + " Tempo) or zipkin. On, each request gets a process span that continues the trace of its traceparent"
            + " header (or starts one), each forward pass an inference span linked to its requests' spans, and the"
            + " process span's context goes out in the traceparent of the request's prediction, latency event and"
            + " dead letter.";

    /** Where the exporter sends spans. */
    public static final String TRACING_ENDPOINT_CONFIG = "streamformer.tracing.endpoint";

    /** What {@link #TRACING_ENDPOINT_CONFIG} does, as the README's table shows it. */
    public static final String TRACING_ENDPOINT_DOC = "The exporter's endpoint; empty: http://localhost:4318/v1/traces (otlp) or"
            + " http://localhost:9411/api/v2/spans (zipkin).";

    /** Share of new traces recorded. */
    public static final String TRACING_SAMPLING_CONFIG = "streamformer.tracing.sampling";

    /** What {@link #TRACING_SAMPLING_CONFIG} does, as the README's table shows it. */
    public static final String TRACING_SAMPLING_DOC = "Share of the traces this processor starts that are recorded (0 to 1); a request whose"
            + " traceparent says sampled, or not, is traced as its producer decided.";

    private static final ConfigDef CONFIG = new ConfigDef()
            .define(TOPIC_REPLICATION_CONFIG, Type.SHORT, (short) -1, Importance.MEDIUM,
                    TOPIC_REPLICATION_DOC)
            .define(TOPICS_CREATE_CONFIG, Type.BOOLEAN, true, Importance.MEDIUM,
                    TOPICS_CREATE_DOC)
            .define(MODEL_DIR_CONFIG, Type.STRING, "", Importance.HIGH,
                    MODEL_DIR_DOC)
            .define(MODELS_CONFIG, Type.LIST, "", Importance.MEDIUM,
                    MODELS_DOC)
            .define(TOPIC_MODELS_CONFIG, Type.STRING, "streamformer-models", Importance.MEDIUM,
                    TOPIC_MODELS_DOC)
            .define(TOPIC_MODEL_STATUS_CONFIG, Type.STRING, "streamformer-model-status", Importance.LOW,
                    TOPIC_MODEL_STATUS_DOC)
            .define(MODELS_CACHE_DIR_CONFIG, Type.STRING, "", Importance.LOW,
                    MODELS_CACHE_DIR_DOC)
            .define(MODELS_MAX_MESSAGE_BYTES_CONFIG, Type.INT, 64 << 20, Range.atLeast(1 << 20), Importance.LOW,
                    MODELS_MAX_MESSAGE_BYTES_DOC)
            .define(ENGINE_CONFIG, Type.STRING, InferenceEngine.DEFAULT.configName(), ConfigDef.ValidString.in(
                    InferenceEngine.ONNXRUNTIME.configName(), InferenceEngine.PYTORCH.configName()), Importance.HIGH,
                    ENGINE_DOC)
            .define(ONNX_PREPACKING_CONFIG, Type.BOOLEAN, true, Importance.LOW,
                    ONNX_PREPACKING_DOC)
            .define(INTRA_OP_THREADS_CONFIG, Type.INT, 1, Range.atLeast(0), Importance.MEDIUM,
                    INTRA_OP_THREADS_DOC)
            .define(FORWARD_CONCURRENCY_CONFIG, Type.INT, 0, Range.atLeast(0), Importance.MEDIUM,
                    FORWARD_CONCURRENCY_DOC)
            .define(BATCH_SIZE_CONFIG, Type.INT, 8, Range.between(1, 1024), Importance.HIGH,
                    BATCH_SIZE_DOC)
            .define(BATCH_LENGTH_BUCKETS_CONFIG, Type.BOOLEAN, true, Importance.MEDIUM,
                    BATCH_LENGTH_BUCKETS_DOC)
            .define(BATCH_MAX_WAIT_MS_CONFIG, Type.LONG, 20L, Range.atLeast(0), Importance.MEDIUM,
                    BATCH_MAX_WAIT_MS_DOC)
            .define(TRUNCATE_CONFIG, Type.BOOLEAN, false, Importance.MEDIUM,
                    TRUNCATE_DOC)
            .define(TEXT_MAX_TOKENS_CONFIG, Type.INT, 0, Range.atLeast(0), Importance.MEDIUM,
                    TEXT_MAX_TOKENS_DOC)
            .define(EXIT_POLICY_CONFIG, Type.STRING, "", Importance.MEDIUM,
                    EXIT_POLICY_DOC)
            .define(EXIT_REFILL_POOL_CONFIG, Type.INT, 0, Range.atLeast(0), Importance.LOW,
                    EXIT_REFILL_POOL_DOC)
            .define(SCHEMA_REGISTRY_URL_CONFIG, Type.STRING, "", Importance.MEDIUM,
                    SCHEMA_REGISTRY_URL_DOC)
            .define(SCHEMA_REGISTRY_CREDENTIALS_SOURCE_CONFIG, Type.STRING, "USER_INFO",
                    ConfigDef.CaseInsensitiveValidString.in("USER_INFO", "URL"), Importance.LOW,
                    "Where the schema registry's basic-auth credentials come from: USER_INFO (" + SCHEMA_REGISTRY_USER_INFO_CONFIG
                            + ") or URL (user:password@ in the URL).")
            .define(SCHEMA_REGISTRY_USER_INFO_CONFIG, Type.PASSWORD, "", Importance.LOW,
                    "The schema registry's basic-auth user:password; never logged.")
            .define(SCHEMA_REGISTRY_AUTO_REGISTER_CONFIG, Type.BOOLEAN, true, Importance.LOW,
                    "With streamformer.output.format=confluent: register the output schemas under <topic>-value at the first"
                            + " record (true), or only look them up (false; `streamformer schemas --register` registers them ahead).")
            .define(SCHEMA_REGISTRY_SSL_PREFIX + "truststore.location", Type.STRING, "", Importance.LOW,
                    "Truststore of the schema registry's TLS certificate (https URLs); empty: the JVM's default.")
            .define(SCHEMA_REGISTRY_SSL_PREFIX + "truststore.password", Type.PASSWORD, "", Importance.LOW,
                    "Password of that truststore; never logged.")
            .define(SCHEMA_REGISTRY_SSL_PREFIX + "truststore.type", Type.STRING, "PKCS12", Importance.LOW,
                    "Type of that truststore: PKCS12 or JKS.")
            .define(SCHEMA_REGISTRY_SSL_PREFIX + "keystore.location", Type.STRING, "", Importance.LOW,
                    "Keystore of the client certificate, when the schema registry asks for one (mutual TLS).")
            .define(SCHEMA_REGISTRY_SSL_PREFIX + "keystore.password", Type.PASSWORD, "", Importance.LOW,
                    "Password of that keystore; never logged.")
            .define(SCHEMA_REGISTRY_SSL_PREFIX + "keystore.type", Type.STRING, "PKCS12", Importance.LOW,
                    "Type of that keystore: PKCS12 or JKS.")
            .define(SCHEMA_REGISTRY_SSL_PREFIX + "key.password", Type.PASSWORD, "", Importance.LOW,
                    "Password of the key in that keystore, when it differs from the keystore's; never logged.")
            .define(OUTPUT_FORMAT_CONFIG, Type.STRING, WireFormat.AVRO.configName(), ConfigDef.ValidString.in(
                    WireFormat.AVRO.configName(), WireFormat.CONFLUENT.configName(), WireFormat.JSON.configName()),
                    Importance.MEDIUM, OUTPUT_FORMAT_DOC)
            .define(HEADERS_PASSTHROUGH_CONFIG, Type.LIST, "traceparent,tracestate,correlation-id", Importance.LOW,
                    HEADERS_PASSTHROUGH_DOC)
            .define(TRACING_EXPORTER_CONFIG, Type.STRING, "none", ConfigDef.ValidString.in("none", "otlp", "zipkin"),
                    Importance.LOW, TRACING_EXPORTER_DOC)
            .define(TRACING_ENDPOINT_CONFIG, Type.STRING, "", Importance.LOW, TRACING_ENDPOINT_DOC)
            .define(TRACING_SAMPLING_CONFIG, Type.DOUBLE, 1.0, Range.between(0.0, 1.0), Importance.LOW,
                    TRACING_SAMPLING_DOC);

    /** @return a copy of the definition: names, types, defaults, validators and documentation */
    public static ConfigDef configDef() {
        return new ConfigDef(CONFIG);
    }

    /**
     * @param originals all properties; keys it does not define are ignored here and passed to Kafka
     */
    public StreamformerConfig(final Map<?, ?> originals) {
        super(CONFIG, originals, false);
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
        final int configured = getInt(FORWARD_CONCURRENCY_CONFIG);
        if (configured > 0) {
            return configured;
        }
        final int cores = Runtime.getRuntime().availableProcessors();
        final int intraOp = getInt(INTRA_OP_THREADS_CONFIG);
        return Math.max(1, cores / (intraOp == 0 ? cores : intraOp));
    }

    /**
     * @return the requests one pass holds for depth-wise refill, 0 when off
     * @throws org.apache.kafka.common.config.ConfigException when the pool is not above the batch size
     */
    public int refillPool() {
        final int pool = getInt(EXIT_REFILL_POOL_CONFIG);
        final int batch = getInt(BATCH_SIZE_CONFIG);
        if (pool != 0 && pool <= batch) {
            throw new org.apache.kafka.common.config.ConfigException(EXIT_REFILL_POOL_CONFIG, pool, "a refill pool holds"
                    + " the " + BATCH_SIZE_CONFIG + " (" + batch + ") running rows and the requests that take their places:"
                    + " set it above " + batch + " (for example " + 2 * batch + "), or 0 for no refill");
        }
        return pool;
    }

    /**
     * @return rows running at once with depth-wise refill (the batch size, newcomers taking the rows of
     *     records that leave), 0 when refill is off
     */
    public int refillWidth() {
        return refillPool() > 0 ? getInt(BATCH_SIZE_CONFIG) : 0;
    }

    /** @return the engine, its intra-op threads and prepacking */
    public EngineSettings engineSettings() {
        return new EngineSettings(InferenceEngine.parse(getString(ENGINE_CONFIG)), getInt(INTRA_OP_THREADS_CONFIG),
                getBoolean(ONNX_PREPACKING_CONFIG));
    }

    /** @return the models served beside the default one, by name, in the configured order */
    public java.util.Map<String, String> extraModels() {
        final java.util.Map<String, String> models = new java.util.LinkedHashMap<>();
        for (final String entry : getList(MODELS_CONFIG)) {
            final int eq = entry.indexOf('=');
            if (eq <= 0 || eq == entry.length() - 1) {
                throw new org.apache.kafka.common.config.ConfigException(MODELS_CONFIG, entry,
                        "each entry is name=directory, for example spam=/models/spam");
            }
            final String name = entry.substring(0, eq).trim();
            if (models.put(name, entry.substring(eq + 1).trim()) != null) {
                throw new org.apache.kafka.common.config.ConfigException(MODELS_CONFIG, entry, "the name " + name
                        + " is given twice");
            }
        }
        return models;
    }

    /**
     * @return a client of the configured schema registry, or null when none is configured
     * @throws org.apache.kafka.common.config.ConfigException when its settings are invalid
     */
    public SchemaRegistryClient schemaRegistry() {
        final java.util.Map<String, Object> confluent = new java.util.HashMap<>();
        for (final String key : SchemaRegistryClient.SETTINGS) {
            final Object v = get("streamformer." + key);
            if (v != null) {
                confluent.put(key, v);
            }
        }
        try {
            return SchemaRegistryClient.of(confluent, "streamformer.");
        } catch (IllegalArgumentException e) {
            throw new org.apache.kafka.common.config.ConfigException(e.getMessage());
        }
    }

    /**
     * @return the serdes of the outputs in the configured format
     * @throws org.apache.kafka.common.config.ConfigException when the format needs a registry and none is set
     */
    public WireSerdes outputSerdes() {
        try {
            return new WireSerdes(WireFormat.parse(getString(OUTPUT_FORMAT_CONFIG)), schemaRegistry());
        } catch (IllegalArgumentException e) {
            throw new org.apache.kafka.common.config.ConfigException(e.getMessage());
        }
    }

    /** @return where published versions are unpacked */
    public java.nio.file.Path modelsCacheDir() {
        final String configured = getString(MODELS_CACHE_DIR_CONFIG);
        if (!configured.isBlank()) {
            return java.nio.file.Path.of(configured);
        }
        return dev.streamformer.model.DefaultModel.cacheRoot().resolve("releases");
    }
}
