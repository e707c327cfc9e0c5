package dev.streamformer.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import dev.streamformer.TinyModel;
import dev.streamformer.cli.StreamformerCli;
import dev.streamformer.model.Activation;
import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.ModelConfig;
import dev.streamformer.model.ModelDirectory;
import dev.streamformer.model.SharingPlan;
import dev.streamformer.release.ModelReleases;
import dev.streamformer.schemas.ModelRelease;
import dev.streamformer.stream.ModelRegistry;
import dev.streamformer.stream.StreamformerApp;
import dev.streamformer.stream.StreamformerAppConfig;
import dev.streamformer.stream.StreamformerConfig;
import dev.streamformer.testkit.EmbeddedKafka;

/**
 * `model publish` runs the processors' checks before it writes, and `model releases` shows what
 * every instance serves and what it refused, on a real broker with the commands as users run them.
 */
@Tag("integration")
class ModelPublishIT {

    @TempDir
    static Path tmp;

    private static EmbeddedKafka kafka;

    @BeforeAll
    static void start() throws Exception {
        kafka = EmbeddedKafka.start(tmp.resolve("kafka"), 0, Map.of());
    }

    @AfterAll
    static void stop() {
        if (kafka != null) {
            kafka.close();
        }
    }

    private record Run(int exitCode, String out, String err) {
    }

    private static Run cli(final String... args) {
        final PrintStream out = System.out;
        final PrintStream err = System.err;
        final ByteArrayOutputStream o = new ByteArrayOutputStream();
        final ByteArrayOutputStream e = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
            final int code = StreamformerCli.execute(args);
            return new Run(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }

    private static Run publish(final String topic, final Path model, final String... more) {
        final List<String> args = new java.util.ArrayList<>(List.of("model", "publish", "--model", model.toString(),
                "--name", "tiny", "-b", kafka.bootstrapServers(), "-p", StreamformerConfig.TOPIC_MODELS_CONFIG + "=" + topic));
        args.addAll(List.of(more));
        return cli(args.toArray(String[]::new));
    }

    private static Map<String, ModelReleases.Offset> topic(final String topic) {
        return ModelReleases.readAll(client(), topic, Duration.ofSeconds(30));
    }

    private static Properties client() {
        final Properties p = new Properties();
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        return p;
    }

    /** A copy of a model directory whose model.safetensors lost its last 1,000 bytes. */
    private static Path truncated(final Path model, final String name) throws Exception {
        final Path copy = tmp.resolve(name).resolve("tiny");
        Files.createDirectories(copy);
        for (final String f : List.of(ModelDirectory.CONFIG, ModelDirectory.WEIGHTS, ModelDirectory.VOCAB)) {
            Files.copy(model.resolve(f), copy.resolve(f), StandardCopyOption.REPLACE_EXISTING);
        }
        final byte[] weights = Files.readAllBytes(copy.resolve(ModelDirectory.WEIGHTS));
        Files.write(copy.resolve(ModelDirectory.WEIGHTS), java.util.Arrays.copyOf(weights, weights.length - 1_000));
        return copy;
    }

    private static Path tiny(final String dir, final long seed, final String vocabulary) throws Exception {
        final Path model = TinyModel.save(tmp.resolve(dir).resolve("tiny"), seed);
        Files.writeString(model.resolve(ModelDirectory.VOCAB), vocabulary);
        return model;
    }

    @Test
    @Timeout(180)
    void aCorruptTensorAnotherVocabularyOrOtherLabelsAreRefusedBeforeAnythingIsWritten() throws Exception {
        final String topic = "checked-models";
        final Path good = tiny("good", 5, "[PAD]\n[UNK]\n[CLS]\n[SEP]\nmail\n");
        final Run corrupt = publish(topic, truncated(good, "corrupt"));
        assertThat(corrupt.exitCode()).as(corrupt.err()).isEqualTo(1);
        assertThat(corrupt.err()).contains("cannot be published").contains("model.safetensors is truncated")
                .contains("nothing was written");
        assertThat(topic(topic)).as("nothing announced").isEmpty();

        assertThat(publish(topic, good).exitCode()).isZero();
        final Run vocabulary = publish(topic, tiny("other-vocabulary", 6, "[PAD]\n[UNK]\n[CLS]\n[SEP]\nsnow\n"));
        assertThat(vocabulary.exitCode()).as(vocabulary.err()).isEqualTo(1);
        assertThat(vocabulary.err()).contains("its vocabulary (vocab.txt) differs from the served one")
                .contains("compared with stable version " + ModelDirectory.version(good));

        final Path otherLabels = tmp.resolve("other-labels").resolve("tiny");
        Checkpoint.random(new ModelConfig(500, 16, 32, 2, 4, 4, 64, 64, 2, Activation.GELU_NEW, 1e-12, true,
                SharingPlan.ALL, List.of("negative", "positive")), 7).save(otherLabels);
        Files.copy(good.resolve(ModelDirectory.VOCAB), otherLabels.resolve(ModelDirectory.VOCAB));
        final Run labels = publish(topic, otherLabels);
        assertThat(labels.exitCode()).as(labels.err()).isEqualTo(1);
        assertThat(labels.err()).contains("its labels [negative, positive] are not those served, [ham, spam]");
        assertThat(topic(topic).get("tiny").release().getStable().getVersion().toString()).as("still the good one")
                .isEqualTo(ModelDirectory.version(good));
    }

    @Test
    @Timeout(180)
    void aRefusedStableReleaseOnTheTopicDoesNotBlockTheNextCanary() throws Exception {
        final String topic = "broken-stable-models";
        final Path good = tiny("stable", 5, "[PAD]\n[UNK]\n[CLS]\n[SEP]\nmail\n");
        assertThat(publish(topic, good).exitCode()).isZero();
        // A broken stable release, as an older publisher wrote one: every processor refuses it.
        final Path broken = truncated(good, "broken");
        ModelReleases.announce(client(), topic, ModelRelease.newBuilder().setName("tiny")
                .setStable(ModelReleases.artifact(broken, null)).setPublishedAt(Instant.now()).build());
        final Path next = tiny("next", 6, "[PAD]\n[UNK]\n[CLS]\n[SEP]\nmail\n");
        final Run canary = publish(topic, next, "--canary", "50");
        assertThat(canary.exitCode()).as(canary.err()).isZero();
        final ModelRelease release = topic(topic).get("tiny").release();
        assertThat(release.getStable().getVersion().toString()).as("the latest stable version that loads")
                .isEqualTo(ModelDirectory.version(good));
        assertThat(release.getCandidate().getVersion().toString()).isEqualTo(ModelDirectory.version(next));
        assertThat(canary.err()).contains("does not load, so processors refuse it and serve "
                + ModelDirectory.version(good)).contains("model.safetensors is truncated");
    }

    @Test
    @Timeout(300)
    void releasesShowsWhatEachInstanceServesAndTheReleaseItRefusedWithTheReason() throws Exception {
        final String app = "status";
        final Path served = tiny("served", 5, "[PAD]\n[UNK]\n[CLS]\n[SEP]\nmail\n");
        final Properties props = client();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, app);
        props.put(StreamsConfig.STATE_DIR_CONFIG, tmp.resolve("state").toString());
        props.put(StreamformerConfig.MODEL_DIR_CONFIG, served.toString());
        props.put(StreamformerAppConfig.TOPIC_REQUESTS_CONFIG, app + "-requests");
        props.put(StreamformerAppConfig.TOPIC_PREDICTIONS_CONFIG, app + "-predictions");
        props.put(StreamformerAppConfig.TOPIC_LATENCY_CONFIG, app + "-latency");
        props.put(StreamformerAppConfig.TOPIC_DEAD_LETTERS_CONFIG, app + "-dead-letters");
        props.put(StreamformerAppConfig.TOPIC_SHADOW_CONFIG, app + "-shadow");
        props.put(StreamformerConfig.TOPIC_MODELS_CONFIG, app + "-models");
        props.put(StreamformerConfig.TOPIC_MODEL_STATUS_CONFIG, app + "-model-status");
        props.put(StreamformerConfig.MODELS_CACHE_DIR_CONFIG, tmp.resolve("status-cache").toString());
        final String[] releases = {"model", "releases", "-b", kafka.bootstrapServers(),
            "-p", StreamformerConfig.TOPIC_MODELS_CONFIG + "=" + app + "-models",
            "-p", StreamformerConfig.TOPIC_MODEL_STATUS_CONFIG + "=" + app + "-model-status"};
        try (StreamformerApp processor = StreamformerApp.start(props, new ModelRegistry())) {
            assertThat(processor.awaitRunning(Duration.ofSeconds(60))).isTrue();
            // The processor serves its directory under "tiny"; this release has another vocabulary. The
            // publisher has nothing on the topic to compare with, so only the processor can refuse it.
            final Path other = tiny("status-other", 6, "[PAD]\n[UNK]\n[CLS]\n[SEP]\nsnow\n");
            assertThat(publish(app + "-models", other).exitCode()).isZero();
            final long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            Run view = cli(releases);
            while (!view.out().contains("REFUSED") && System.nanoTime() < deadline) {
                Thread.sleep(500);
                view = cli(releases);
            }
            System.out.println(view.out());
            assertThat(view.exitCode()).as(view.err()).isZero();
            assertThat(view.out()).contains("serves " + ModelDirectory.version(served) + " (its configured directory)")
                    .contains("REFUSED the release at offset 0 (" + ModelDirectory.version(other) + "): its vocabulary"
                            + " (vocab.txt) differs from the served one")
                    .contains("(" + app + ")").contains("heard ");
        }
        final Run afterStop = cli(releases);
        assertThat(afterStop.out()).as("a clean stop removes the instance").doesNotContain("REFUSED")
                .contains("no instance has written its status");
    }
}
