package dev.streamformer.stream;

import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.streamformer.release.ModelReleases;
import dev.streamformer.schemas.ModelRelease;
import dev.streamformer.schemas.ModelStatus;
import dev.streamformer.schemas.RefusedRelease;
import dev.streamformer.schemas.ServedModel;
import dev.streamformer.schemas.serde.SingleObjectSerde;
import dev.streamformer.schemas.serde.StreamformerSerdes;

/**
 * Writes this instance's {@link ModelStatus} to the model status topic: what it serves by name and
 * the releases it refused, when that changes and every {@value #INTERVAL_SECONDS} s, and a tombstone
 * when it stops cleanly. {@code model releases} reads it, so an operator sees at once that a release
 * was refused, by which instance and why, instead of finding it in the logs of each.
 */
final class StatusReporter implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(StatusReporter.class);
    /** How often the status is written when nothing changes; {@code model releases} calls older ones silent. */
    static final int INTERVAL_SECONDS = 30;
    private static final int CLOSE_SECONDS = 5;

    private static final SingleObjectSerde<ModelStatus> SERDE = StreamformerSerdes.modelStatus();

    private final String topic;
    private final String instance;
    private final String applicationId;
    private final String host;
    private final Instant started = Instant.now();
    private final ModelCatalog catalog;
    private final KafkaProducer<byte[], byte[]> producer;
    private final Map<String, RefusedRelease> refusals = new ConcurrentHashMap<>();
    private final ScheduledExecutorService timer;
    private final AtomicBoolean warned = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();

    /**
     * @param kafka client properties of the application
     * @param topic the model status topic (it exists)
     * @param catalog what the instance serves
     */
    StatusReporter(final Properties kafka, final String topic, final ModelCatalog catalog) {
        this.topic = topic;
        this.catalog = catalog;
        this.host = hostName();
        this.applicationId = kafka.getProperty(StreamsConfig.APPLICATION_ID_CONFIG, "streamformer");
        this.instance = instanceId(kafka, host);
        final Properties p = ModelReleases.producerProperties(kafka);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.CLIENT_ID_CONFIG, applicationId + "-model-status");
        this.producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            final Thread t = new Thread(r, "streamformer-model-status");
            t.setDaemon(true);
            return t;
        });
    }

    /** Writes the status now and then every {@value #INTERVAL_SECONDS} s. */
    void start() {
        timer.scheduleAtFixedRate(this::report, 0, INTERVAL_SECONDS, TimeUnit.SECONDS);
    }

    /**
     * Notes how a release was applied and writes the status.
     *
     * @param release the release
     * @param offset its offset in the models topic
     * @param refusal null when the instance switched to it, else why it refused it
     */
    void applied(final ModelRelease release, final long offset, final String refusal) {
        final String name = release.getName().toString();
        if (refusal == null) {
            refusals.computeIfPresent(name, (k, r) -> r.getReleaseOffset() <= offset ? null : r);
        } else {
            refusals.merge(name, RefusedRelease.newBuilder().setName(name).setReleaseOffset(offset)
                    .setVersions(release.getStable().getVersion() + (release.getCandidate() == null ? ""
                            : "," + release.getCandidate().getVersion()))
                    .setReason(refusal).setRefusedAt(Instant.now()).build(),
                    (was, now) -> now.getReleaseOffset() >= was.getReleaseOffset() ? now : was);
        }
        if (!timer.isShutdown()) {
            timer.execute(this::report);
        }
    }

    /** @return the status as it would be written now */
    ModelStatus status() {
        final List<ServedModel> models = new ArrayList<>();
        catalog.routes().forEach((name, route) -> models.add(ServedModel.newBuilder().setName(name)
                .setStable(route.stable().model().version())
                .setCandidate(route.candidate() == null ? null : route.candidate().model().version())
                .setCanaryPercent(route.canaryPercent()).setShadow(route.shadow())
                .setReleaseOffset(route.generation()).build()));
        return ModelStatus.newBuilder().setInstance(instance).setApplicationId(applicationId).setHost(host)
                .setStartedAt(started).setUpdatedAt(Instant.now()).setModels(models)
                .setRefusals(new ArrayList<>(refusals.values())).build();
    }

    private void report() {
        try {
            send(SERDE.serialize(topic, status()));
        } catch (RuntimeException e) {
            warn(e);
        }
    }

    private void send(final byte[] value) {
        producer.send(new ProducerRecord<>(topic, instance.getBytes(StandardCharsets.UTF_8), value), (m, e) -> {
            if (e != null) {
                warn(e);
            }
        });
    }

    private void warn(final Exception e) {
        if (warned.compareAndSet(false, true)) {
            LOG.warn("Cannot write this instance's model status to {}: {}. `model releases` will not show it; let this"
                    + " principal write {} (or set {}= to stop trying)", topic, e.toString(), topic,
                    StreamformerConfig.TOPIC_MODEL_STATUS_CONFIG);
        } else {
            LOG.debug("Cannot write the model status to {}: {}", topic, e.toString());
        }
    }

    /** @return the key this instance writes under */
    String instance() {
        return instance;
    }

    /**
     * Stops the timer and writes a tombstone: this instance no longer serves anything. Bounded: with the
     * broker gone the tombstone is dropped after {@value #CLOSE_SECONDS} s (the status then goes silent).
     * Closing again does nothing.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        timer.shutdown();
        try {
            timer.awaitTermination(CLOSE_SECONDS, TimeUnit.SECONDS);
            send(null);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            warn(e);
        } finally {
            producer.close(java.time.Duration.ofSeconds(CLOSE_SECONDS));
        }
    }

    private static String instanceId(final Properties kafka, final String host) {
        for (final String key : List.of(StreamsConfig.mainConsumerPrefix(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG),
                StreamsConfig.consumerPrefix(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG), ConsumerConfig.GROUP_INSTANCE_ID_CONFIG)) {
            final String id = kafka.getProperty(key);
            if (id != null && !id.isBlank()) {
                return id;
            }
        }
        return host + "-" + ManagementFactory.getRuntimeMXBean().getPid();
    }

    private static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "unknown-host";
        }
    }
}
