package dev.streamformer.stream;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import dev.streamformer.TinyModel;
import dev.streamformer.model.ModelDirectory;
import dev.streamformer.release.ModelReleases;
import dev.streamformer.testkit.EmbeddedKafka;

/**
 * A task that starts while a release on the models topic is still being applied waits for it,
 * however long it takes, and says what it waits for; it never serves the version before. Real
 * broker, real catalog; only the load is held back, by a latch in front of the catalog.
 */
@Tag("integration")
class ModelWatcherIT {

    @TempDir
    static Path tmp;

    private static EmbeddedKafka kafka;

    @BeforeAll
    static void start() throws Exception {
        kafka = EmbeddedKafka.start(tmp.resolve("kafka"), 0, java.util.Map.of());
    }

    @AfterAll
    static void stop() {
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    @Timeout(180)
    void aTaskWaitsForAReleaseBeingLoadedAndSaysWhichThenServesIt() throws Exception {
        try (HeldBackLoad held = new HeldBackLoad("watch")) {
            assertThat(held.watcher.awaitCurrent()).as("an empty topic: current at once").isTrue();
            held.publishV2();
            final CompletableFuture<Boolean> task = CompletableFuture.supplyAsync(held.watcher::awaitCurrent);
            // Far beyond the poll interval: the watcher has the release, and its load does not finish.
            Thread.sleep(3_000);
            assertThat(task).as("the task serves nothing while the release loads").isNotDone();
            assertThat(held.watcher.waitingTasks()).isEqualTo(1);
            assertThat(held.watcher.waitingFor()).contains("offset 0 of the models topic " + held.topic)
                    .contains("the release of model tiny at offset 0 of " + held.topic + " is loading");
            assertThat(held.catalog.route("tiny").stable().model().version()).isEqualTo(ModelDirectory.version(held.v1));
            held.loadMayFinish.countDown();
            assertThat(task.get(60, TimeUnit.SECONDS)).isTrue();
            assertThat(held.catalog.route("tiny").stable().model().version()).as("the task starts on the new version")
                    .isEqualTo(ModelDirectory.version(held.v2));
            assertThat(held.watcher.waitingFor()).isNull();
            assertThat(held.watcher.waitingTasks()).isZero();
        }
    }

    @Test
    @Timeout(180)
    void aWaitingTaskGivesUpWhenTheProcessorCloses() throws Exception {
        try (HeldBackLoad held = new HeldBackLoad("closing")) {
            held.publishV2();
            final CompletableFuture<Boolean> task = CompletableFuture.supplyAsync(held.watcher::awaitCurrent);
            Thread.sleep(1_000);
            assertThat(task).isNotDone();
            held.watcher.stopping();
            assertThat(task.get(10, TimeUnit.SECONDS)).as("closing, not current").isFalse();
        }
    }

    /**
     * A catalog serving version 1 of model tiny, and a started watcher of its own models topic whose
     * loads wait until {@link #loadMayFinish} is counted down (closing counts it down).
     */
    private static final class HeldBackLoad implements AutoCloseable {
        final Path v1;
        final Path v2;
        final String topic;
        final Properties client = new Properties();
        final CountDownLatch loadMayFinish = new CountDownLatch(1);
        final ModelCatalog catalog;
        final ModelWatcher watcher;

        HeldBackLoad(final String name) throws Exception {
            v1 = TinyModel.save(tmp.resolve(name).resolve("tiny"));
            v2 = TinyModel.save(tmp.resolve(name + "-v2").resolve("tiny"), 6);
            topic = name + "-models";
            client.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
            ModelReleases.ensureTopic(client, topic, 64 << 20, (short) 1, true);
            final Properties props = new Properties();
            props.put(StreamformerConfig.MODEL_DIR_CONFIG, v1.toString());
            props.put(StreamformerConfig.MODELS_CACHE_DIR_CONFIG, tmp.resolve(name + "-cache").toString());
            catalog = new ModelCatalog(new StreamformerConfig(props), new ModelRegistry(), ServingMetrics.disabled());
            catalog.attach();
            watcher = new ModelWatcher(client, topic, catalog, (release, offset) -> {
                try {
                    loadMayFinish.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return catalog.apply(release, offset);
            }, Duration.ofSeconds(30));
            watcher.start();
        }

        /** Publishes version 2 of model tiny on the models topic. */
        void publishV2() throws Exception {
            ModelReleases.publish(client, topic, v2, "tiny", ModelReleases.Rollout.REPLACE, 0, null, 64 << 20);
        }

        @Override
        public void close() throws Exception {
            loadMayFinish.countDown();
            try {
                watcher.close();
            } finally {
                catalog.close();
            }
        }
    }
}
