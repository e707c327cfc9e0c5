package dev.streamformer.stream;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.streamformer.release.ModelReleases;
import dev.streamformer.schemas.ModelRelease;

/**
 * Follows the models topic for one application: first reads it to its end and applies the latest
 * release of every name before the stream threads start (so a restarted instance serves the latest
 * accepted version), then applies each new release in the background as it arrives. Loading and
 * checking happen on this thread; the stream threads see a route switch between two batches.
 */
final class ModelWatcher implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ModelWatcher.class);
    private static final int WAIT_LOG_SECONDS = 15;

    private final KafkaConsumer<byte[], byte[]> consumer;
    private final TopicPartition partition;
    private final ModelCatalog catalog;
    private final Applier applier;
    private final Thread thread;
    private final Admin admin;
    private final String topic;
    private final AtomicInteger waitingTasks = new AtomicInteger();
    private volatile boolean running = true;
    private volatile long applied;
    private volatile String applying;
    private volatile String waitingFor;
    private boolean started;

    /**
     * Reads the topic to its end and applies what it holds.
     *
     * @param kafka client properties
     * @param topic the models topic
     * @param catalog the application's catalog (attached)
     * @param timeout the longest the first read may take
     */
    ModelWatcher(final Properties kafka, final String topic, final ModelCatalog catalog, final Duration timeout) {
        this(kafka, topic, catalog, catalog::apply, timeout);
    }

    /** How a release is applied: {@link ModelCatalog#apply}; tests slow it down. */
    interface Applier {
        /**
         * @param release the release
         * @param offset its offset in the models topic
         * @return null when the route switched, else why the release was refused
         */
        String apply(ModelRelease release, long offset);
    }

    /**
     * @param kafka client properties
     * @param topic the models topic
     * @param catalog the application's catalog (attached)
     * @param applier applies a release to the catalog
     * @param timeout the longest the first read may take
     */
    ModelWatcher(final Properties kafka, final String topic, final ModelCatalog catalog, final Applier applier,
            final Duration timeout) {
        this.catalog = catalog;
        this.applier = applier;
        this.topic = topic;
        this.partition = new TopicPartition(topic, 0);
        this.consumer = ModelReleases.consumer(kafka);
        this.admin = Admin.create(ModelReleases.adminProperties(kafka));
        try {
            final Map<String, List<ModelReleases.Offset>> history = ModelReleases.historyToEnd(consumer, topic, timeout);
            // The latest release of each name, or when this JVM refuses it, the latest one it accepts
            // (as long as compaction has kept it): what the instance served before it restarted.
            for (final List<ModelReleases.Offset> releases : history.values()) {
                for (int i = releases.size() - 1; i >= 0; i--) {
                    if (applier.apply(releases.get(i).release(), releases.get(i).offset()) == null) {
                        break;
                    }
                }
            }
            applied = consumer.position(partition, timeout);
            LOG.info("Models topic {}: releases of {} name(s) read; serving {}", topic, history.size(), describe(catalog));
        } catch (RuntimeException e) {
            consumer.close();
            admin.close();
            throw e;
        }
        this.thread = new Thread(this::follow, "streamformer-model-watcher");
        thread.setDaemon(true);
    }

    /** Starts following the topic in the background. */
    void start() {
        started = true;
        thread.start();
    }

    private void follow() {
        long backoffMs = 0;
        try {
            while (running) {
                try {
                    final Map<String, ModelReleases.Offset> latest = new LinkedHashMap<>();
                    for (final ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                        try {
                            ModelReleases.accept(latest, r);
                        } catch (RuntimeException e) {
                            LOG.error("Ignored record at offset {} of the models topic: {}. Only `streamformer model"
                                    + " publish` (or ModelReleases.publish) should write to this topic", r.offset(),
                                    e.getMessage());
                        }
                    }
                    // Several releases of a name in one poll: only the latest is loaded.
                    for (final ModelReleases.Offset o : latest.values()) {
                        applying = "the release of model " + o.release().getName() + " at offset " + o.offset() + " of "
                                + topic + " is loading";
                        applier.apply(o.release(), o.offset());
                    }
                    applying = null;
                    applied = consumer.position(partition);
                    backoffMs = 0;
                } catch (WakeupException e) {
                    throw e;
                } catch (RuntimeException e) {
                    // Tasks that start meanwhile wait (awaitCurrent): no partition falls back to an older version.
                    backoffMs = Math.min(30_000, Math.max(1_000, 2 * backoffMs));
                    applying = "the models topic cannot be read (" + e + "); retrying every " + backoffMs / 1000 + " s";
                    LOG.error("Cannot follow the models topic {}: {}; the current versions keep serving, retrying in {}"
                            + " s. Check that the brokers answer and that this principal may Describe and Read the"
                            + " topic", topic, e.toString(), backoffMs / 1000, e);
                    Thread.sleep(backoffMs);
                }
            }
        } catch (WakeupException e) {
            if (running) {
                throw e;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            consumer.close();
        }
    }

    /**
     * Waits until every release on the topic now has been applied (loaded and switched to, or
     * refused). A task calls it when it starts: a partition that moved here from an instance that had
     * switched already is never served by the version before. There is no time limit: while a task
     * waits, {@link #waitingFor()} says for what (the readiness answer and a log line every
     * {@value #WAIT_LOG_SECONDS} s name the release), and {@link #waitingTasks()} counts the tasks.
     *
     * @return true when current; false when the processor is closing first
     */
    boolean awaitCurrent() {
        waitingTasks.incrementAndGet();
        final long start = System.nanoTime();
        long nextLog = start + TimeUnit.SECONDS.toNanos(WAIT_LOG_SECONDS);
        long end = -1;
        try {
            while (running) {
                if (end < 0) {
                    try {
                        end = admin.listOffsets(Map.of(partition, OffsetSpec.latest())).partitionResult(partition)
                                .get(10, TimeUnit.SECONDS).offset();
                    } catch (ExecutionException | TimeoutException e) {
                        waitingFor = "the end of the models topic " + topic + " cannot be read (" + e + ")";
                    }
                }
                if (end >= 0 && applied >= end) {
                    return true;
                }
                if (end >= 0) {
                    final String now = applying;
                    waitingFor = "releases up to offset " + (end - 1) + " of the models topic " + topic
                            + " are not applied yet" + (now == null ? "" : ": " + now);
                }
                if (System.nanoTime() > nextLog) {
                    LOG.warn("A task waits {} s before serving: {}. It serves no version older than the topic names; the"
                            + " watcher log says why a release takes long", TimeUnit.NANOSECONDS.toSeconds(
                                    System.nanoTime() - start), waitingFor);
                    nextLog = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_LOG_SECONDS);
                }
                Thread.sleep(20);
            }
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } finally {
            if (waitingTasks.decrementAndGet() == 0) {
                waitingFor = null;
            }
        }
    }

    /** @return why a task waits before serving, or null when none waits */
    String waitingFor() {
        return waitingTasks.get() == 0 ? null : waitingFor;
    }

    /** @return how many tasks wait for the releases on the topic to be applied */
    int waitingTasks() {
        return waitingTasks.get();
    }

    /** Makes waiting tasks give up: the processor is closing. */
    void stopping() {
        running = false;
    }

    private static String describe(final ModelCatalog catalog) {
        final StringBuilder sb = new StringBuilder();
        catalog.routes().forEach((name, route) -> sb.append(sb.length() == 0 ? "" : "; ").append(name).append(' ')
                .append(route.describe()));
        return sb.toString();
    }

    @Override
    public void close() {
        running = false;
        admin.close(Duration.ofSeconds(5));
        if (started) {
            consumer.wakeup();
            try {
                thread.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        } else {
            consumer.close();
        }
    }
}
