package dev.streamformer.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

import dev.streamformer.TinyModel;
import dev.streamformer.schemas.Prediction;
import dev.streamformer.schemas.serde.StreamformerSerdes;
import dev.streamformer.testkit.ChildProcess;
import dev.streamformer.testkit.EmbeddedKafka;

/**
 * The processor as a separate process, killed with SIGKILL at random moments while requests
 * stream in and batches wait in the changelogged buffer, then restarted; under exactly_once_v2
 * every request id ends with exactly one prediction, read with read_committed.
 */
@Tag("integration")
class ProcessorCrashIT {

    private static final int REQUESTS = 2_000;
    private static final int KILLS = 3;

    /** Kept when a test fails, with the child processes' logs (java.io.tmpdir is under target/ in the build). */
    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    static Path tmp;

    private static EmbeddedKafka kafka;

    @BeforeAll
    static void startBroker() throws Exception {
        kafka = EmbeddedKafka.start(tmp.resolve("kafka"), 0, Map.of("transaction.max.timeout.ms", "900000"));
    }

    @AfterAll
    static void stopBroker() {
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    @Timeout(600)
    void killedMidBatchAndRestartedItPredictsEveryRequestExactlyOnce() throws Exception {
        final Path model = tmp.resolve("model");
        TinyModel.save(model);
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic("streamformer-requests", 4, (short) 1))).all().get();
        }
        final AtomicInteger produced = new AtomicInteger();
        // About 50 requests per second, so batches are always filling when a kill lands.
        final Thread producer = PacedRequests.start(kafka.bootstrapServers(), "streamformer-requests", "crash-",
                REQUESTS, 5, produced);

        final Random random = new Random(17);
        final List<String> log = new ArrayList<>();
        for (int kill = 0; kill < KILLS; kill++) {
            final ChildProcess p = startProcessor(model);
            p.await("-> RUNNING", kill + 1, Duration.ofSeconds(120));
            // Requests arrive all the time, so some batch is buffered whenever the kill lands.
            Thread.sleep(1_500 + random.nextInt(2_500));
            p.kill();
            log.add("killed after " + produced.get() + " produced");
        }
        producer.join();
        final ChildProcess last = startProcessor(model);
        try {
            final List<ConsumerRecord<String, Prediction>> predictions = TopicReader.readAll(kafka.bootstrapServers(),
                    "streamformer-predictions", new StringDeserializer(), StreamformerSerdes.prediction(), REQUESTS,
                    Duration.ofSeconds(180));
            final Map<String, Integer> counts = new HashMap<>();
            predictions.forEach(r -> counts.merge(r.key(), 1, Integer::sum));
            final long duplicates = counts.values().stream().filter(c -> c > 1).count();
            final long missing = REQUESTS - counts.size();
            System.out.printf("crash test: %d requests produced, %d predictions, %d ids, %d duplicated, %d missing; %s%n",
                    produced.get(), predictions.size(), counts.size(), duplicates, missing, log);
            final long restores = java.nio.file.Files.readAllLines(tmp.resolve("processor.log")).stream()
                    .filter(line -> line.contains("buffered requests")).count();
            System.out.printf("crash test: %d task restores found buffered requests after a kill%n", restores);
            assertThat(restores).as("kills that landed while a batch was buffered").isPositive();
            assertThat(produced.get()).isEqualTo(REQUESTS);
            assertThat(duplicates).as("request ids with more than one prediction").isZero();
            assertThat(missing).as("request ids without a prediction").isZero();
            assertThat(predictions).hasSize(REQUESTS);
        } finally {
            last.stop(Duration.ofSeconds(60));
        }
    }

    private static ChildProcess startProcessor(final Path model) throws Exception {
        return new ChildProcess("processor", List.of(), List.of("run", "-b", kafka.bootstrapServers(), "--model",
                model.toString(), "--stream-threads", "2",
                "-p", "streamformer.batch.size=8",
                "-p", "streamformer.batch.max.wait.ms=1000",
                "-p", "state.dir=" + tmp.resolve("state"),
                "-p", "producer.transaction.timeout.ms=10000",
                "-p", "consumer.session.timeout.ms=6000"), tmp.resolve("processor.log")).start();
    }
}
