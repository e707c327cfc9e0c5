package dev.streamformer.stream;

import java.time.Duration;
import java.util.List;
import java.util.Properties;

import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.streamformer.release.ModelReleases;

import io.micrometer.core.instrument.Gauge;

/**
 * The models an application serves, following the models topic: releases published there
 * ({@code streamformer model publish}, canary, shadow, promote, rollback) switch the
 * {@link #catalog()} while the application runs, and this instance's status goes to the model status
 * topic. A task that starts while a release is not applied yet waits for it, so no task serves a
 * version the topic has replaced. The standalone processor runs on one; an application of its own
 * builds its {@link InferenceSupplier} on {@link #catalog()} and closes this after its Kafka Streams.
 *
 * <pre>{@code
 * try (LiveModels models = LiveModels.start(props, ModelRegistry.shared(), ServingMetrics.disabled())) {
 *     InferenceSupplier<String> inference = InferenceSupplier.of(config, Serdes.String(), models.catalog());
 *     // build the topology, run Kafka Streams, close it, then this
 * }
 * }</pre>
 *
 * With {@code streamformer.topic.models} empty, or a principal that may not read the topic, the
 * configured models serve without live releases (with a warning that says how to turn them on).
 */
public final class LiveModels implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(LiveModels.class);
    /** The longest the first read of the models topic may take before it is retried in the background. */
    private static final Duration FIRST_READ = Duration.ofSeconds(30);

    private final ModelCatalog catalog;
    private final ModelWatcher watcher;
    private final StatusReporter status;

    private LiveModels(final ModelCatalog catalog, final ModelWatcher watcher, final StatusReporter status) {
        this.catalog = catalog;
        this.watcher = watcher;
        this.status = status;
    }

    /**
     * Loads the configured models, applies the releases on the models topic, and follows it.
     *
     * @param props the application's properties: Kafka client keys and {@code streamformer.*} keys
     * @param registry where versions are loaded, once per JVM
     * @param metrics where every version's meters go
     * @return the running models; close them after the Kafka Streams that serves them
     */
    public static LiveModels start(final Properties props, final ModelRegistry registry, final ServingMetrics metrics) {
        final StreamformerConfig config = new StreamformerConfig(props);
        final Properties kafka = StreamformerConfig.kafkaOnly(props);
        final ModelCatalog catalog = new ModelCatalog(config, registry, metrics);
        catalog.attach();
        StatusReporter status = null;
        ModelWatcher watcher = null;
        try {
            final String topic = liveUpdates(kafka, config);
            status = topic.isBlank() ? null : statusReporter(kafka, config, catalog);
            watcher = topic.isBlank() ? null : watcher(kafka, topic, catalog, status, FIRST_READ);
        } catch (RuntimeException e) {
            if (status != null) {
                status.close();
            }
            catalog.detach();
            throw e;
        }
        if (watcher != null) {
            final ModelWatcher w = watcher;
            catalog.syncWith(() -> {
                if (!w.awaitCurrent()) {
                    throw new IllegalStateException("The application closed while a task waited for the releases on "
                            + config.getString(StreamformerConfig.TOPIC_MODELS_CONFIG) + ": the task served nothing");
                }
            });
            Gauge.builder("streamformer.model.release.waiting", w, ModelWatcher::waitingTasks)
                    .baseUnit("tasks").description("Tasks that wait, before serving, for the releases on the models"
                            + " topic to be applied (readiness says which)").register(metrics.registry());
            w.start();
        }
        if (status != null) {
            status.start();
        }
        return new LiveModels(catalog, watcher, status);
    }

    /** @return the versions served now, by model name; build the inference step on it */
    public ModelCatalog catalog() {
        return catalog;
    }

    /** @return why tasks wait before serving (a release not applied yet), or null when none waits */
    public String waitingFor() {
        return watcher == null ? null : watcher.waitingFor();
    }

    /** Tells tasks that wait for a release to give up: the application is closing. */
    void stopping() {
        if (watcher != null) {
            watcher.stopping();
        }
    }

    /** Stops following the topic, removes this instance's status, and releases the models. */
    @Override
    public void close() {
        stopping();
        if (watcher != null) {
            watcher.close();
        }
        if (status != null) {
            status.close();
        }
        catalog.detach();
    }

    /**
     * Makes sure the models topic exists. It is optional: on a cluster whose ACLs do not let this principal create or describe them the
     * configured models serve without live updates, and the warning says how to turn them on.
     *
     * @return the models topic to follow, or empty for none
     */
    private static String liveUpdates(final Properties kafka, final StreamformerConfig config) {
        final String modelsTopic = config.getString(StreamformerConfig.TOPIC_MODELS_CONFIG);
        if (modelsTopic.isBlank()) {
            return "";
        }
        final boolean create = config.getBoolean(StreamformerConfig.TOPICS_CREATE_CONFIG);
        try {
            ModelReleases.ensureTopic(kafka, modelsTopic, config.getInt(StreamformerConfig.MODELS_MAX_MESSAGE_BYTES_CONFIG),
                    config.getShort(StreamformerConfig.TOPIC_REPLICATION_CONFIG), create);
            return modelsTopic;
        } catch (IllegalStateException e) {
            LOG.warn("Live model updates are off: {}. The configured models serve; to publish versions to running"
                    + " processors, let this principal read and describe {}, or set {}= to silence this",
                    e.getMessage(), modelsTopic, StreamformerConfig.TOPIC_MODELS_CONFIG);
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
        } catch (AuthorizationException e) {
            LOG.warn("Live model updates are off: {} (let this principal read and describe {}, or set {}=)",
                    e.getMessage(), topic, StreamformerConfig.TOPIC_MODELS_CONFIG);
            return null;
        }
    }

    /** The model status writer, or null when its topic is off or cannot be created here (with a warning). */
    private static StatusReporter statusReporter(final Properties kafka, final StreamformerConfig config,
            final ModelCatalog catalog) {
        final String topic = config.getString(StreamformerConfig.TOPIC_MODEL_STATUS_CONFIG);
        if (topic.isBlank()) {
            return null;
        }
        try {
            ModelReleases.ensureStatusTopic(kafka, topic, config.getShort(StreamformerConfig.TOPIC_REPLICATION_CONFIG),
                    config.getBoolean(StreamformerConfig.TOPICS_CREATE_CONFIG));
            return new StatusReporter(kafka, topic, catalog);
        } catch (IllegalStateException | KafkaException e) {
            LOG.warn("This instance's model status is not written: {}. `model releases` will not show it; let this"
                    + " principal create and write {}, or set {}= to silence this", e.getMessage(), topic,
                    StreamformerConfig.TOPIC_MODEL_STATUS_CONFIG);
            return null;
        }
    }
}
