package dev.streamformer.stream;

import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.streamformer.kafka.internals.BrokerCheck;
import dev.streamformer.kafka.internals.TopicAdmin;

/**
 * The running processor: checks or creates the topics, loads the model once, starts Kafka Streams
 * on the topology and stops it cleanly.
 */
public final class StreamformerApp implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(StreamformerApp.class);

    private final KafkaStreams streams;
    private final LiveModels models;
    private final Duration shutdownTimeout;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final PrometheusMeterRegistry metrics;
    private final KafkaStreamsMetrics streamsMetrics;
    private final StaticIdentity identity;
    private HealthServer health;

    private StreamformerApp(final KafkaStreams streams, final LiveModels models, final Duration shutdownTimeout,
            final PrometheusMeterRegistry metrics, final StaticIdentity identity) {
        this.streams = streams;
        this.identity = identity;
        this.models = models;
        this.shutdownTimeout = shutdownTimeout;
        this.metrics = metrics;
        // Kafka Streams' and its clients' own metrics (thread state, process and commit rates, records lag).
        this.streamsMetrics = new KafkaStreamsMetrics(streams);
        streamsMetrics.bindTo(metrics);
        new JvmMemoryMetrics().bindTo(metrics);
        new JvmGcMetrics().bindTo(metrics);
        new ProcessorMetrics().bindTo(metrics);
    }

    /**
     * Starts the processor.
     *
     * @param userProps properties; Kafka keys pass through, {@code streamformer.*} keys configure the processor
     * @param registry the registry to borrow the model from
     * @return the running application
     */
    public static StreamformerApp start(final Properties userProps, final ModelRegistry registry) {
        final Properties all = KafkaDefaults.under(userProps);
        UnknownKeys.rejectUnknownOwn(all);
        final StreamformerAppConfig config = new StreamformerAppConfig(all);
        final Properties kafka = StreamformerConfig.kafkaOnly(all);
        UnknownKeys.warnUnknownKafka(kafka, LOG);
        HealthServer.checkFree(config.getString(StreamformerAppConfig.HEALTH_BIND_CONFIG), config.getInt(StreamformerAppConfig.HEALTH_PORT_CONFIG));
        BrokerCheck.await(kafka, Duration.ofMillis(config.getLong(StreamformerAppConfig.CONNECT_TIMEOUT_MS_CONFIG)));
        final TopicAdmin.Spec spec = new TopicAdmin.Spec(config.getInt(StreamformerAppConfig.TOPIC_PARTITIONS_CONFIG),
                config.getShort(StreamformerConfig.TOPIC_REPLICATION_CONFIG), config.getLong(StreamformerAppConfig.TOPIC_RETENTION_MS_CONFIG));
        final boolean create = config.getBoolean(StreamformerConfig.TOPICS_CREATE_CONFIG);
        TopicAdmin.ensure(kafka, List.of(config.requestsTopic(), config.predictionsTopic(), config.latencyTopic(),
                config.deadLettersTopic()), spec, create);
        shadowTopic(kafka, config, spec, create);
        final PrometheusMeterRegistry metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        metrics.config().meterFilter(new PrometheusNames());
        final StaticIdentity identity = StaticIdentity.apply(all);
        identity.configure(kafka);
        final LiveModels models;
        final KafkaStreams streams;
        try {
            models = LiveModels.start(all, registry, new ServingMetrics(metrics));
            try {
                streams = new KafkaStreams(StreamformerTopology.build(config, models.catalog()), kafka,
                        identity.clientSupplier());
            } catch (RuntimeException e) {
                models.close();
                throw e;
            }
        } catch (RuntimeException e) {
            identity.close();
            throw e;
        }
        final StreamformerApp app = new StreamformerApp(streams, models,
                Duration.ofMillis(config.getLong(StreamformerAppConfig.SHUTDOWN_TIMEOUT_MS_CONFIG)), metrics, identity);
        streams.setUncaughtExceptionHandler(new ThreadFailurePolicy());
        streams.setStateListener((now, before) -> {
            LOG.info("Processor state {} -> {}", before, now);
            if (now == KafkaStreams.State.NOT_RUNNING || now == KafkaStreams.State.ERROR) {
                app.stopped.countDown();
            }
        });
        final int healthPort = config.getInt(StreamformerAppConfig.HEALTH_PORT_CONFIG);
        if (healthPort >= 0) {
            try {
                app.health = HealthServer.start(config.getString(StreamformerAppConfig.HEALTH_BIND_CONFIG), healthPort,
                        streams::state, app::describeModels, models::waitingFor, metrics::scrape);
                LOG.info("Health endpoint on {}:{}: /health/live, /health/ready, /metrics (Prometheus)",
                        config.getString(StreamformerAppConfig.HEALTH_BIND_CONFIG), app.health.port());
            } catch (java.io.IOException e) {
                streams.close();
                models.close();
                identity.close();
                throw HealthServer.taken(healthPort, e);
            }
        }
        streams.start();
        LOG.info("Processor {} started: {} -> {}, {}, {}; {} stream threads, model {}",
                kafka.get(StreamsConfig.APPLICATION_ID_CONFIG), config.requestsTopic(), config.predictionsTopic(),
                config.latencyTopic(), config.deadLettersTopic(), kafka.get(StreamsConfig.NUM_STREAM_THREADS_CONFIG),
                app.describeModels());
        return app;
    }

    /**
     * Makes sure the topic of shadow predictions exists when releases may start a shadow trial. It is
     * optional: without it a shadow candidate's predictions cannot be written, and the warning says so.
     */
    private static void shadowTopic(final Properties kafka, final StreamformerAppConfig config, final TopicAdmin.Spec spec,
            final boolean create) {
        final String shadow = config.getString(StreamformerAppConfig.TOPIC_SHADOW_CONFIG);
        if (config.getString(StreamformerConfig.TOPIC_MODELS_CONFIG).isBlank() || shadow.isBlank()) {
            return;
        }
        try {
            TopicAdmin.ensure(kafka, List.of(shadow), spec, create);
        } catch (IllegalStateException e) {
            LOG.warn("Shadow predictions cannot be written: {}. Let this principal create and write {}", e.getMessage(),
                    shadow);
        }
    }

    /** @return what this processor serves now, by name: version, and candidate if any */
    String describeModels() {
        final StringBuilder sb = new StringBuilder();
        models.catalog().routes().forEach((name, route) -> sb.append(sb.length() == 0 ? "" : "; ").append(name)
                .append(" version ").append(route.describe()));
        return sb.toString();
    }

    /** @return the versions this processor serves, by model name */
    public ModelCatalog catalog() {
        return models.catalog();
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
        models.stopping();
        final boolean clean = streams.close(timeout);
        if (health != null) {
            health.close();
        }
        models.close();
        streamsMetrics.close();
        metrics.close();
        identity.close();
        stopped.countDown();
        return clean;
    }

    @Override
    public void close() {
        close(shutdownTimeout);
    }
}
