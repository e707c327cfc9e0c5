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
        final Path v1 = TinyModel.save(tmp.resolve("tiny"));
        final Path v2 = TinyModel.save(tmp.resolve("v2").resolve("tiny"), 6);
        final Properties client = new Properties();
        client.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        final String topic = "watch-models";
        ModelReleases.ensureTopic(client, topic, 64 << 20, (short) 1, true);
        final Properties props = new Properties();
        props.put(StreamformerConfig.MODEL_DIR_CONFIG, v1.toString());
        props.put(StreamformerConfig.MODELS_CACHE_DIR_CONFIG, tmp.resolve("cache").toString());
        final CountDownLatch loadMayFinish = new CountDownLatch(1);
        try (ModelCatalog catalog = new ModelCatalog(new StreamformerConfig(props), new ModelRegistry(),
                ServingMetrics.disabled())) {
            catalog.attach();
            final ModelWatcher watcher = new ModelWatcher(client, topic, catalog, (release, offset) -> {
                try {
                    loadMayFinish.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return catalog.apply(release, offset);
            }, Duration.ofSeconds(30));
            try {
                watcher.start();
                assertThat(watcher.awaitCurrent()).as("an empty topic: current at once").isTrue();
                ModelReleases.publish(client, topic, v2, "tiny", ModelReleases.Rollout.REPLACE, 0, null, 64 << 20);
                final CompletableFuture<Boolean> task = CompletableFuture.supplyAsync(watcher::awaitCurrent);
                // Far beyond the poll interval: the watcher has the release, and its load does not finish.
                Thread.sleep(3_000);
                assertThat(task).as("the task serves nothing while the release loads").isNotDone();
                assertThat(watcher.waitingTasks()).isEqualTo(1);
                assertThat(watcher.waitingFor()).contains("offset 0 of the models topic " + topic)
                        .contains("the release of model tiny at offset 0 of " + topic + " is loading");
                assertThat(catalog.route("tiny").stable().model().version()).isEqualTo(ModelDirectory.version(v1));
                loadMayFinish.countDown();
                assertThat(task.get(60, TimeUnit.SECONDS)).isTrue();
                assertThat(catalog.route("tiny").stable().model().version()).as("the task starts on the new version")
                        .isEqualTo(ModelDirectory.version(v2));
                assertThat(watcher.waitingFor()).isNull();
                assertThat(watcher.waitingTasks()).isZero();
            } finally {
                loadMayFinish.countDown();
                watcher.close();
            }
        }
    }

    @Test
    @Timeout(180)
    void aWaitingTaskGivesUpWhenTheProcessorCloses() throws Exception {
        final Path v1 = TinyModel.save(tmp.resolve("closing").resolve("tiny"));
        final Path v2 = TinyModel.save(tmp.resolve("closing-v2").resolve("tiny"), 6);
        final Properties client = new Properties();
        client.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        final String topic = "closing-models";
        ModelReleases.ensureTopic(client, topic, 64 << 20, (short) 1, true);
        final Properties props = new Properties();
        props.put(StreamformerConfig.MODEL_DIR_CONFIG, v1.toString());
        props.put(StreamformerConfig.MODELS_CACHE_DIR_CONFIG, tmp.resolve("closing-cache").toString());
        final CountDownLatch never = new CountDownLatch(1);
        try (ModelCatalog catalog = new ModelCatalog(new StreamformerConfig(props), new ModelRegistry(),
                ServingMetrics.disabled())) {
            catalog.attach();
            final ModelWatcher watcher = new ModelWatcher(client, topic, catalog, (release, offset) -> {
                try {
                    never.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return catalog.apply(release, offset);
            }, Duration.ofSeconds(30));
            try {
                watcher.start();
                ModelReleases.publish(client, topic, v2, "tiny", ModelReleases.Rollout.REPLACE, 0, null, 64 << 20);
                final CompletableFuture<Boolean> task = CompletableFuture.supplyAsync(watcher::awaitCurrent);
                Thread.sleep(1_000);
                assertThat(task).isNotDone();
                watcher.stopping();
                assertThat(task.get(10, TimeUnit.SECONDS)).as("closing, not current").isFalse();
            } finally {
                never.countDown();
                watcher.close();
            }
        }
    }
}
