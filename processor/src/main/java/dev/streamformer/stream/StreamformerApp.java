package dev.streamformer.stream;

import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.streamformer.kafka.BrokerCheck;
import dev.streamformer.model.DefaultModel;
import dev.streamformer.kafka.TopicAdmin;
import dev.streamformer.release.ModelReleases;

/**
 * The running processor: checks or creates the topics, loads the model once, starts Kafka Streams
 * on the topology and stops it cleanly.
 */
public final class StreamformerApp implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(StreamformerApp.class);
    private static final String OWN_PREFIX = "streamformer.";

    /** Requests per poll of a stream thread's consumer (Kafka's default is 1,000); see {@link #defaults()}. */
    public static final int MAX_POLL_RECORDS = 100;

    private final KafkaStreams streams;
    private final ModelCatalog catalog;
    private final ModelWatcher watcher;
    private final StatusReporter status;
    private final Duration shutdownTimeout;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final PrometheusMeterRegistry metrics;
    private final KafkaStreamsMetrics streamsMetrics;
    private HealthServer health;

    private StreamformerApp(final KafkaStreams streams, final ModelCatalog catalog, final ModelWatcher watcher,
            final StatusReporter status, final Duration shutdownTimeout, final PrometheusMeterRegistry metrics) {
        this.streams = streams;
        this.catalog = catalog;
        this.watcher = watcher;
        this.status = status;
        this.shutdownTimeout = shutdownTimeout;
        this.metrics = metrics;
        // Kafka Streams' and its clients' own metrics (thread state, process and commit rates, records lag).
        this.streamsMetrics = new KafkaStreamsMetrics(streams);
        streamsMetrics.bindTo(metrics);
        new JvmMemoryMetrics().bindTo(metrics);
        new JvmGcMetrics().bindTo(metrics);
        new ProcessorMetrics().bindTo(metrics);
    }

    /** The commit interval the processor sets (Kafka's exactly-once default is 100 ms). */
    public static final long COMMIT_INTERVAL_MS = 500;

    /**
     * The defaults under the user's properties: application id {@code streamformer},
     * exactly_once_v2, 2 stream threads, a {@value #COMMIT_INTERVAL_MS} ms commit interval, and at most
     * {@value #MAX_POLL_RECORDS} requests per poll of the main consumer.
     *
     * <p>The last one matters because a request costs milliseconds of compute, not microseconds. A
     * stream thread processes everything one poll returned before it polls again, and during a
     * rebalance it may not commit. With Kafka's 1,000 records per poll a thread with a backlog runs
     * for 20-50 s between polls: a rebalance (a new instance, a new thread) then waits for it, its
     * open transaction passes {@code transaction.timeout.ms} (10 s), the broker aborts it, and the
     * thread is fenced and redoes all that work. Measured in the benchmark: a thread that took every
     * task first kept the other idle for 24 s and then lost its output.
     *
     * @return the defaults
     */
    public static Properties defaults() {
        final Properties p = new Properties();
        KAFKA_DEFAULTS.forEach(d -> p.put(d.key(), d.value().replace(CACHE, DefaultModel.cacheRoot().toString())));
        return p;
    }

    /** Stands for {@link DefaultModel#cacheRoot()} in a default's value. */
    private static final String CACHE = "$STREAMFORMER_CACHE";

    /**
     * A Kafka key the processor sets unless the user does.
     *
     * @param key the Kafka Streams or client key
     * @param value its value here
     * @param reason why, as the README's table says it
     */
    public record KafkaDefault(String key, String value, String reason) {
    }

    /** The Kafka keys the processor sets, with their reasons (the README's table is generated from this). */
    public static final List<KafkaDefault> KAFKA_DEFAULTS = List.of(
            new KafkaDefault(StreamsConfig.APPLICATION_ID_CONFIG, "streamformer",
                    "instances with the same id share the request partitions"),
            new KafkaDefault(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2,
                    "no prediction lost or duplicated; `at_least_once` (`run --at-least-once`) is faster and may"
                            + " duplicate after a crash"),
            new KafkaDefault(StreamsConfig.NUM_STREAM_THREADS_CONFIG, "2", "one per core on a 2-core machine"),
            new KafkaDefault(StreamsConfig.STATE_DIR_CONFIG, CACHE + "/state",
                    "the batch buffers' local state, per user (`STREAMFORMER_CACHE` defaults to"
                            + " `~/.cache/streamformer`), not Kafka's `/tmp/kafka-streams`, which every user of the machine"
                            + " shares and a reboot may clear; put it on a volume in a container"),
            new KafkaDefault(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, Long.toString(COMMIT_INTERVAL_MS),
                    "outputs become visible to read_committed consumers within about this after they are computed. Each"
                            + " commit ends a transaction, with a marker on every output and changelog partition: at Kafka's"
                            + " exactly-once default of 100 ms the broker and the transactions took 17-20 % of two cores in"
                            + " the pipeline benchmark, at 500 ms 9-10 %, for 1.2x the records/s (docs/BENCHMARKS.md). Set 100 where"
                            + " consumers must see each prediction sooner"),
            new KafkaDefault(StreamsConfig.mainConsumerPrefix(ConsumerConfig.MAX_POLL_RECORDS_CONFIG),
                    Integer.toString(MAX_POLL_RECORDS),
                    "a stream thread finishes what one poll returned before it polls again, and may not commit during"
                            + " a rebalance; with Kafka's 1,000 a thread with a backlog computes for 20-50 s between polls,"
                            + " holds up every rebalance, and its transaction times out (10 s) and is redone. Keep records"
                            + " per poll x time per request well under `transaction.timeout.ms`. A `max.poll.records` of"
                            + " your own replaces this default"));

    /**
     * @param userProps the user's properties
     * @return the defaults overlaid with them; a {@code max.poll.records} of the user's (plain or
     *     with the {@code consumer.} prefix) replaces our main-consumer default, which would
     *     otherwise take precedence over it in Kafka Streams
     */
    static Properties withDefaults(final Properties userProps) {
        final Properties all = defaults();
        all.putAll(userProps);
        final String mainPollRecords = StreamsConfig.mainConsumerPrefix(ConsumerConfig.MAX_POLL_RECORDS_CONFIG);
        if (!userProps.containsKey(mainPollRecords)
                && (userProps.containsKey(ConsumerConfig.MAX_POLL_RECORDS_CONFIG)
                        || userProps.containsKey(StreamsConfig.consumerPrefix(ConsumerConfig.MAX_POLL_RECORDS_CONFIG)))) {
            all.remove(mainPollRecords);
        }
        return all;
    }

    /**
     * Starts the processor.
     *
     * @param userProps properties; Kafka keys pass through, {@code streamformer.*} keys configure the processor
     * @param registry the registry to borrow the model from
     * @return the running application
     */
    public static StreamformerApp start(final Properties userProps, final ModelRegistry registry) {
        final Properties all = withDefaults(userProps);
        UnknownKeys.rejectUnknownOwn(all);
        final StreamformerConfig config = new StreamformerConfig(all);
        final Properties kafka = kafkaOnly(all);
        UnknownKeys.warnUnknownKafka(kafka, LOG);
        HealthServer.checkFree(config.getString(StreamformerConfig.HEALTH_BIND), config.getInt(StreamformerConfig.HEALTH_PORT));
        BrokerCheck.await(kafka, Duration.ofMillis(config.getLong(StreamformerConfig.CONNECT_TIMEOUT_MS)));
        TopicAdmin.ensure(kafka, List.of(config.requestsTopic(), config.predictionsTopic(), config.latencyTopic(),
                config.deadLettersTopic()), new TopicAdmin.Spec(config.getInt(StreamformerConfig.TOPIC_PARTITIONS),
                config.getShort(StreamformerConfig.TOPIC_REPLICATION), config.getLong(StreamformerConfig.TOPIC_RETENTION_MS)),
                config.getBoolean(StreamformerConfig.TOPICS_CREATE));
        final String modelsTopic = liveUpdates(kafka, config);
        final PrometheusMeterRegistry metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        metrics.config().meterFilter(new PrometheusNames());
        final ModelCatalog catalog = new ModelCatalog(config, registry, new ServingMetrics(metrics));
        catalog.attach();
        final KafkaStreams streams;
        final ModelWatcher watcher;
        final StatusReporter status = modelsTopic.isBlank() ? null : statusReporter(kafka, config, catalog);
        try {
            watcher = modelsTopic.isBlank() ? null : watcher(kafka, modelsTopic, catalog, status,
                    Duration.ofMillis(Math.max(30_000, config.getLong(StreamformerConfig.CONNECT_TIMEOUT_MS))));
            if (watcher != null) {
                catalog.syncWith(() -> {
                    if (!watcher.awaitCurrent()) {
                        throw new IllegalStateException("The processor closed while a task waited for the releases on "
                                + modelsTopic + ": the task served nothing");
                    }
                });
                Gauge.builder("streamformer.model.release.waiting", watcher, ModelWatcher::waitingTasks)
                        .baseUnit("tasks").description("Tasks that wait, before serving, for the releases on the models"
                                + " topic to be applied (readiness says which)").register(metrics);
            }
            try {
                streams = new KafkaStreams(StreamformerTopology.build(config, catalog), kafka);
            } catch (RuntimeException e) {
                if (watcher != null) {
                    watcher.close();
                }
                throw e;
            }
        } catch (RuntimeException e) {
            if (status != null) {
                status.close();
            }
            catalog.detach();
            throw e;
        }
        final StreamformerApp app = new StreamformerApp(streams, catalog, watcher, status,
                Duration.ofMillis(config.getLong(StreamformerConfig.SHUTDOWN_TIMEOUT_MS)), metrics);
        streams.setUncaughtExceptionHandler(new ThreadFailurePolicy());
        streams.setStateListener((now, before) -> {
            LOG.info("Processor state {} -> {}", before, now);
            if (now == KafkaStreams.State.NOT_RUNNING || now == KafkaStreams.State.ERROR) {
                app.stopped.countDown();
            }
        });
        final int healthPort = config.getInt(StreamformerConfig.HEALTH_PORT);
        if (healthPort >= 0) {
            try {
                app.health = HealthServer.start(config.getString(StreamformerConfig.HEALTH_BIND), healthPort,
                        streams::state, app::describeModels, watcher == null ? () -> null : watcher::waitingFor,
                        metrics::scrape);
                LOG.info("Health endpoint on {}:{}: /health/live, /health/ready, /metrics (Prometheus)",
                        config.getString(StreamformerConfig.HEALTH_BIND), app.health.port());
            } catch (java.io.IOException e) {
                streams.close();
                if (watcher != null) {
                    watcher.close();
                }
                if (status != null) {
                    status.close();
                }
                catalog.detach();
                throw HealthServer.taken(healthPort, e);
            }
        }
        streams.start();
        if (watcher != null) {
            watcher.start();
        }
        if (status != null) {
            status.start();
        }
        LOG.info("Processor {} started: {} -> {}, {}, {}; {} stream threads, model {}",
                kafka.get(StreamsConfig.APPLICATION_ID_CONFIG), config.requestsTopic(), config.predictionsTopic(),
                config.latencyTopic(), config.deadLettersTopic(), kafka.get(StreamsConfig.NUM_STREAM_THREADS_CONFIG),
                app.describeModels());
        return app;
    }

    /** @return what this processor serves now, by name: version, and candidate if any */
    String describeModels() {
        final StringBuilder sb = new StringBuilder();
        catalog.routes().forEach((name, route) -> sb.append(sb.length() == 0 ? "" : "; ").append(name)
                .append(" version ").append(route.describe()));
        return sb.toString();
    }

    /** @return the versions this processor serves, by model name */
    public ModelCatalog catalog() {
        return catalog;
    }

    /**
     * Makes sure the topics of live model updates exist: the models topic and the shadow topic. They
     * are optional: on a cluster whose ACLs do not let this principal create or describe them the
     * processor serves its configured models without live updates, and says how to turn them on.
     *
     * @return the models topic to follow, or empty for none
     */
    private static String liveUpdates(final Properties kafka, final StreamformerConfig config) {
        final String modelsTopic = config.getString(StreamformerConfig.TOPIC_MODELS);
        if (modelsTopic.isBlank()) {
            return "";
        }
        final TopicAdmin.Spec spec = new TopicAdmin.Spec(config.getInt(StreamformerConfig.TOPIC_PARTITIONS),
                config.getShort(StreamformerConfig.TOPIC_REPLICATION), config.getLong(StreamformerConfig.TOPIC_RETENTION_MS));
        final boolean create = config.getBoolean(StreamformerConfig.TOPICS_CREATE);
        try {
            TopicAdmin.ensure(kafka, List.of(config.getString(StreamformerConfig.TOPIC_SHADOW)), spec, create);
            ModelReleases.ensureTopic(kafka, modelsTopic, config.getInt(StreamformerConfig.MODELS_MAX_MESSAGE_BYTES),
                    config.getShort(StreamformerConfig.TOPIC_REPLICATION), create);
            return modelsTopic;
        } catch (IllegalStateException e) {
            LOG.warn("Live model updates are off: {}. The configured models serve; to publish versions to running"
                    + " processors, let this principal read and describe {} (and write {}), or set {}= to silence this",
                    e.getMessage(), modelsTopic, config.getString(StreamformerConfig.TOPIC_SHADOW),
                    StreamformerConfig.TOPIC_MODELS);
            return "";
        }
    }

    private static ModelWatcher watcher(final Properties kafka, final String topic, final ModelCatalog catalog,
            final StatusReporter status, final Duration timeout) {
        try {
            return new ModelWatcher(kafka, topic, catalog, (release, offset) -> {
                final String refusal = catalog.apply(release, offset);
                if (status != null) {
                    status.applied(release, offset, refusal);
                }
                return refusal;
            }, timeout);
        } catch (org.apache.kafka.common.errors.AuthorizationException e) {
            LOG.warn("Live model updates are off: {} (let this principal read and describe {}, or set {}=)",
                    e.getMessage(), topic, StreamformerConfig.TOPIC_MODELS);
            return null;
        }
    }

    /** The model status writer, or null when its topic is off or cannot be created here (with a warning). */
    private static StatusReporter statusReporter(final Properties kafka, final StreamformerConfig config,
            final ModelCatalog catalog) {
        final String topic = config.getString(StreamformerConfig.TOPIC_MODEL_STATUS);
        if (topic.isBlank()) {
            return null;
        }
        try {
            ModelReleases.ensureStatusTopic(kafka, topic, config.getShort(StreamformerConfig.TOPIC_REPLICATION),
                    config.getBoolean(StreamformerConfig.TOPICS_CREATE));
            return new StatusReporter(kafka, topic, catalog);
        } catch (IllegalStateException | org.apache.kafka.common.KafkaException e) {
            LOG.warn("This instance's model status is not written: {}. `model releases` will not show it; let this"
                    + " principal create and write {}, or set {}= to silence this", e.getMessage(), topic,
                    StreamformerConfig.TOPIC_MODEL_STATUS);
            return null;
        }
    }

    /**
     * The properties without the processor's own keys, for Kafka clients and Streams.
     *
     * @param all every property
     * @return the Kafka properties
     */
    public static Properties kafkaOnly(final Properties all) {
        final Properties kafka = new Properties();
        for (final String name : all.stringPropertyNames()) {
            if (!name.startsWith(OWN_PREFIX)) {
                kafka.put(name, all.getProperty(name));
            }
        }
        return kafka;
    }

    /**
     * Waits until every stream thread runs.
     *
     * @param timeout how long to wait
     * @return whether the processor is running
     * @throws InterruptedException when interrupted
     */
    public boolean awaitRunning(final Duration timeout) throws InterruptedException {
        final long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            final KafkaStreams.State state = streams.state();
            if (state == KafkaStreams.State.RUNNING) {
                return true;
            }
            if (!state.isRunningOrRebalancing() && state != KafkaStreams.State.CREATED) {
                return false;
            }
            Thread.sleep(50);
        }
        return false;
    }

    /**
     * Blocks until the processor stops on its own (an error) or is closed.
     *
     * @throws InterruptedException when interrupted
     */
    public void awaitStop() throws InterruptedException {
        stopped.await();
    }

    /**
     * Waits for the processor to stop.
     *
     * @param timeout how long
     * @return whether it stopped
     * @throws InterruptedException when interrupted
     */
    public boolean awaitStop(final Duration timeout) throws InterruptedException {
        return stopped.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** @return the Kafka Streams state */
    public KafkaStreams.State state() {
        return streams.state();
    }

    /** @return the port of the health endpoint, or -1 when it is off */
    public int healthPort() {
        return health == null ? -1 : health.port();
    }

    /** @return the configured longest clean shutdown */
    public Duration shutdownTimeout() {
        return shutdownTimeout;
    }

    /** @return the processor's meters (its own, Kafka Streams' and the JVM's), as GET /metrics serves them */
    public PrometheusMeterRegistry metrics() {
        return metrics;
    }

    /** @return the underlying Kafka Streams instance */
    public KafkaStreams streams() {
        return streams;
    }

    /**
     * Stops the stream threads (committing what was processed) and releases the model.
     *
     * @param timeout the longest to wait for the threads
     * @return whether they stopped in time
     */
    public boolean close(final Duration timeout) {
        if (watcher != null) {
            watcher.stopping();
        }
        final boolean clean = streams.close(timeout);
        if (health != null) {
            health.close();
        }
        if (watcher != null) {
            watcher.close();
        }
        if (status != null) {
            status.close();
        }
        streamsMetrics.close();
        metrics.close();
        catalog.detach();
        stopped.countDown();
        return clean;
    }

    @Override
    public void close() {
        close(shutdownTimeout);
    }
}
