package dev.streamformer.stream;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.streamformer.release.ModelReleases;

/**
 * Follows the models topic for one application: first reads it to its end and applies the latest
 * release of every name before the stream threads start (so a restarted instance serves the latest
 * accepted version), then applies each new release in the background as it arrives. Loading and
 * checking happen on this thread; the stream threads see a route switch between two batches.
 */
final class ModelWatcher implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ModelWatcher.class);

    private final KafkaConsumer<byte[], byte[]> consumer;
    private final TopicPartition partition;
    private final ModelCatalog catalog;
    private final Thread thread;
    private final Admin admin;
    private volatile boolean running = true;
    private volatile long applied;
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
        this.catalog = catalog;
        this.partition = new TopicPartition(topic, 0);
        this.consumer = ModelReleases.consumer(kafka);
        this.admin = Admin.create(ModelReleases.adminProperties(kafka));
        try {
            final Map<String, List<ModelReleases.Offset>> history = ModelReleases.historyToEnd(consumer, topic, timeout);
            // The latest release of each name, or when this JVM refuses it, the latest one it accepts
            // (as long as compaction has kept it): what the instance served before it restarted.
            for (final List<ModelReleases.Offset> releases : history.values()) {
                for (int i = releases.size() - 1; i >= 0; i--) {
                    if (catalog.apply(releases.get(i).release(), releases.get(i).offset()) == null) {
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
        try {
            while (running) {
                final Map<String, ModelReleases.Offset> latest = new LinkedHashMap<>();
                for (final ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                    try {
                        ModelReleases.accept(latest, r);
                    } catch (RuntimeException e) {
                        LOG.error("Ignored record at offset {} of the models topic: {}", r.offset(), e.getMessage());
                    }
                }
                // Several releases of a name in one poll: only the latest is loaded.
                latest.values().forEach(o -> catalog.apply(o.release(), o.offset()));
                applied = consumer.position(partition);
            }
        } catch (WakeupException e) {
            if (running) {
                throw e;
            }
        } catch (RuntimeException e) {
            running = false;
            LOG.error("Stopped following the models topic: {}; the current versions keep serving", e.toString(), e);
        } finally {
            consumer.close();
        }
    }

    /**
     * Waits until every release on the topic now has been applied (loaded and switched to, or
     * refused). A task calls it when it starts: a partition that moved here from an instance that had
     * switched already is not served by the version before.
     *
     * @param timeout the longest to wait; after it the task serves what is loaded, with a warning
     */
    void awaitCurrent(final Duration timeout) {
        final long end;
        try {
            end = admin.listOffsets(Map.of(partition, OffsetSpec.latest())).partitionResult(partition)
                    .get(timeout.toMillis(), TimeUnit.MILLISECONDS).offset();
        } catch (ExecutionException | TimeoutException e) {
            LOG.warn("Cannot read the end of the models topic ({}); serving the versions loaded", e.toString());
            return;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        final long deadline = System.nanoTime() + timeout.toNanos();
        while (applied < end && running) {
            if (System.nanoTime() > deadline) {
                LOG.warn("Releases up to offset {} of the models topic are not applied after {} s; serving the versions"
                        + " loaded", end, timeout.toSeconds());
                return;
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
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
