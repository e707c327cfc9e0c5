package dev.streamformer.stream;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.streamformer.model.Activation;
import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.EngineSettings;
import dev.streamformer.model.DelegatingForwardPass;
import dev.streamformer.model.InferenceModel;
import dev.streamformer.model.ModelConfig;
import dev.streamformer.model.ModelDirectory;
import dev.streamformer.model.SharingPlan;
import dev.streamformer.release.ModelReleases;
import dev.streamformer.schemas.ErrorKind;
import dev.streamformer.schemas.ModelArtifact;
import dev.streamformer.schemas.ModelRelease;
import dev.streamformer.schemas.Prediction;
import dev.streamformer.schemas.TokenizedInput;
import dev.streamformer.schemas.serde.StreamformerSerdes;

/**
 * Versions changing under a running topology (TopologyTestDriver, the real model on ONNX Runtime):
 * releases applied to the catalog as the models topic's watcher applies them.
 */
class ModelLifecycleTest {

    private static final ModelConfig CONFIG = new ModelConfig(200, 16, 32, 3, 4, 4, 64, 32, 2, Activation.GELU_NEW,
            1e-12, true, SharingPlan.ALL, List.of("ham", "spam"));

    @TempDir
    static Path dirs;
    static Path v1;
    static Path v2;
    static Path otherLabels;
    static Path otherVocabulary;
    static Path misShaped;
    static Path second;

    private ProcessorDriver driver;
    private ModelCatalog catalog;
    private final PrometheusMeterRegistry prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private TestOutputTopic<String, Prediction> shadow;
    private final AtomicInteger closedPasses = new AtomicInteger();

    @BeforeAll
    static void writeModels() throws Exception {
        v1 = save("spam-filter", CONFIG, 3);
        Files.writeString(v1.resolve(ModelDirectory.VOCAB), "[PAD]\n[UNK]\n[CLS]\n[SEP]\nwords\n");
        v2 = save("v2", CONFIG, 4);
        Files.copy(v1.resolve(ModelDirectory.VOCAB), v2.resolve(ModelDirectory.VOCAB));
        otherLabels = save("labels", new ModelConfig(200, 16, 32, 3, 4, 4, 64, 32, 2, Activation.GELU_NEW, 1e-12, true,
                SharingPlan.ALL, List.of("ok", "phishing")), 5);
        otherVocabulary = save("vocabulary", CONFIG, 6);
        Files.writeString(otherVocabulary.resolve(ModelDirectory.VOCAB), "[PAD]\n[UNK]\n[CLS]\n[SEP]\nother\n");
        // config.json of one architecture over the tensors of another (hidden 32 vs 24).
        misShaped = save("mis-shaped", new ModelConfig(200, 16, 24, 3, 4, 4, 64, 32, 2, Activation.GELU_NEW, 1e-12, true,
                SharingPlan.ALL, List.of("ham", "spam")), 7);
        Files.copy(v1.resolve(ModelDirectory.CONFIG), misShaped.resolve(ModelDirectory.CONFIG),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        second = save("sentiment", new ModelConfig(200, 16, 32, 2, 4, 4, 64, 32, 2, Activation.GELU_NEW, 1e-12, true,
                SharingPlan.ALL, List.of("negative", "neutral", "positive")), 8);
    }

    private static Path save(final String name, final ModelConfig config, final long seed) throws Exception {
        final Path dir = dirs.resolve(name);
        Checkpoint.random(config, seed).save(dir);
        return dir;
    }

    private void start(final Map<String, String> extra) {
        final Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "lifecycle-test");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        props.put(StreamformerConfig.MODEL_DIR_CONFIG, v1.toString());
        props.put(StreamformerConfig.BATCH_SIZE_CONFIG, "1");
        props.put(StreamformerConfig.MODELS_CACHE_DIR_CONFIG, dirs.resolve("cache").toString());
        props.putAll(extra);
        // Counts the closed forward passes of every version, to see retired versions close.
        final ModelRegistry registry = new ModelRegistry() {
            @Override
            protected InferenceModel load(final String modelDir, final EngineSettings engine) throws java.io.IOException {
                return super.load(modelDir, engine).wrapped(pass -> new DelegatingForwardPass(pass) {
                    @Override
                    public void close() {
                        closedPasses.incrementAndGet();
                        super.close();
                    }
                });
            }
        };
        catalog = new ModelCatalog(new StreamformerConfig(props), registry, new ServingMetrics(prometheus));
        driver = ProcessorDriver.start(props, catalog);
        shadow = driver.driver().createOutputTopic(props.getProperty(StreamformerAppConfig.TOPIC_SHADOW_CONFIG,
                "streamformer-shadow-predictions"), new StringDeserializer(), StreamformerSerdes.prediction());
    }

    @AfterEach
    void stop() {
        if (driver != null) {
            driver.close();
        }
    }

    private void send(final String id, final String model) {
        final TokenizedInput r = TokenizedInput.newBuilder().setRequestId(id).setModel(model)
                .setTokenIds(List.of(2, 17 + Math.floorMod(id.hashCode(), 100), 33, 3))
                .setCreatedAt(Instant.ofEpochMilli(1_000)).build();
        final org.apache.kafka.common.header.internals.RecordHeaders headers = new org.apache.kafka.common.header.internals.RecordHeaders();
        headers.add("correlation-id", ("c-" + id).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        driver.requests().pipeInput(new TestRecord<>(id.getBytes(), StreamformerSerdes.tokenizedInput().serialize("t", r),
                headers, Instant.ofEpochMilli(5_000)));
    }

    private static String version(final Path dir) throws Exception {
        return ModelDirectory.version(dir);
    }

    private static ModelRelease release(final Path stable, final Path candidate, final int canary, final boolean shadow)
            throws Exception {
        final ModelArtifact s = ModelReleases.artifact(stable, null);
        return ModelRelease.newBuilder().setName("spam-filter").setStable(s)
                .setCandidate(candidate == null ? null : ModelReleases.artifact(candidate, null))
                .setCanaryPercent(canary).setShadow(shadow).setPublishedAt(Instant.now()).build();
    }

    private List<String> versionsServed() {
        final List<String> out = new ArrayList<>();
        driver.predictions().readValuesToList().forEach(p -> out.add(p.getModelVersion()));
        return out;
    }

    @Test
    void aPublishedVersionServesTheNextRequestsAndTheOldOneClosesAfterItsLastPass() throws Exception {
        start(Map.of());
        send("a", null);
        assertThat(catalog.apply(release(v2, null, 0, false), 0)).isNull();
        send("b", null);
        send("c", "spam-filter");
        assertThat(versionsServed()).containsExactly(version(v1), version(v2), version(v2));
        assertThat(driver.latency().readValuesToList()).extracting(e -> e.getModelVersion())
                .containsExactly(version(v1), version(v2), version(v2));
        assertThat(closedPasses).as("v1 closed once no route named it").hasValue(1);
        // An older release (a lower offset) never moves the route back.
        assertThat(catalog.apply(release(v1, null, 0, false), 0)).isNull();
        send("d", null);
        assertThat(versionsServed()).containsExactly(version(v2));
    }

    @Test
    void metricsStopDescribingAVersionNoRouteServesButKeepItsCounts() throws Exception {
        start(Map.of());
        send("a", null);
        final String v1Info = "streamformer_model_info{engine=\"onnxruntime\",model=\"spam-filter\",plan=";
        assertThat(prometheus.scrape()).contains(v1Info).contains("version=\"" + version(v1) + "\"");
        assertThat(catalog.apply(release(v2, null, 0, false), 0)).isNull();
        send("b", null);
        final String scrape = prometheus.scrape();
        assertThat(scrape.lines().filter(l -> l.startsWith("streamformer_model_info")))
                .as("only the version served").hasSize(1).allSatisfy(l -> assertThat(l).contains(version(v2)));
        assertThat(scrape.lines().filter(l -> l.startsWith("streamformer_predictions_total")))
                .as("counts of both versions").hasSize(2);
        // Served again (a rollback): described again.
        assertThat(catalog.apply(release(v1, null, 0, false), 1)).isNull();
        assertThat(prometheus.scrape().lines().filter(l -> l.startsWith("streamformer_model_info")))
                .hasSize(1).allSatisfy(l -> assertThat(l).contains(version(v1)));
    }

    @Test
    void aVersionThatFailsItsChecksIsRefusedAndTheServedOneStays() throws Exception {
        start(Map.of());
        assertThat(catalog.apply(release(misShaped, null, 0, false), 0)).isNotNull();
        assertThat(catalog.apply(release(otherVocabulary, null, 0, false), 1)).contains("vocabulary");
        assertThat(catalog.apply(release(otherLabels, null, 0, false), 2)).contains("labels");
        send("a", null);
        assertThat(versionsServed()).containsExactly(version(v1));
        assertThat(catalog.route(null).generation()).isEqualTo(-1);
        assertThat(closedPasses).as("each refused version that loaded was closed").hasValue(2);
    }

    @Test
    void aCanaryServesItsShareOfRequestIdsAndTheSameIdAlwaysMeetsTheSameVersion() throws Exception {
        start(Map.of());
        assertThat(catalog.apply(release(v1, v2, 10, false), 0)).isNull();
        final int n = 2000;
        for (int i = 0; i < n; i++) {
            send("req-" + i, null);
        }
        final Map<String, String> first = new HashMap<>();
        driver.predictions().readRecordsToList().forEach(r -> first.put(r.key(), r.value().getModelVersion()));
        final long candidate = first.values().stream().filter(version(v2)::equals).count();
        // Binomial(2000, 0.10): sd = 13.4 requests; 4 sd either side.
        assertThat(candidate).isBetween(200L - 54, 200L + 54);
        for (int i = 0; i < 200; i++) {
            send("req-" + i, null);
        }
        driver.predictions().readRecordsToList().forEach(r -> assertThat(r.value().getModelVersion())
                .as(r.key()).isEqualTo(first.get(r.key())));
        assertThat(shadow.isEmpty()).isTrue();
    }

    @Test
    void aShadowCandidateRunsOnEveryRequestToTheShadowTopicOnly() throws Exception {
        start(Map.of());
        assertThat(catalog.apply(release(v1, v2, 0, true), 0)).isNull();
        for (int i = 0; i < 20; i++) {
            send("s-" + i, null);
        }
        assertThat(versionsServed()).hasSize(20).containsOnly(version(v1));
        final List<TestRecord<String, Prediction>> shadows = shadow.readRecordsToList();
        assertThat(shadows).hasSize(20).allSatisfy(r -> assertThat(r.value().getModelVersion()).isEqualTo(version(v2)));
        assertThat(shadows).extracting(TestRecord::key).containsExactlyElementsOf(
                java.util.stream.IntStream.range(0, 20).mapToObj(i -> "s-" + i).toList());
        assertThat(shadows).as("the request's correlation id, carried to its shadow prediction").allSatisfy(r -> assertThat(
                new String(r.headers().lastHeader("correlation-id").value(), java.nio.charset.StandardCharsets.UTF_8))
                .isEqualTo("c-" + r.key()));
    }

    @Test
    void promoteMakesTheCandidateStableAndRollbackDropsIt() throws Exception {
        start(Map.of());
        assertThat(catalog.apply(release(v1, v2, 50, false), 0)).isNull();
        // Promote: the candidate's loaded copy becomes the stable version, without a reload.
        assertThat(catalog.apply(release(v2, null, 0, false), 1)).isNull();
        for (int i = 0; i < 50; i++) {
            send("p-" + i, null);
        }
        assertThat(versionsServed()).hasSize(50).containsOnly(version(v2));
        assertThat(catalog.apply(release(v2, v1, 50, false), 2)).isNull();
        // Roll back: the stable version serves everything again.
        assertThat(catalog.apply(release(v2, null, 0, false), 3)).isNull();
        for (int i = 0; i < 50; i++) {
            send("r-" + i, null);
        }
        assertThat(versionsServed()).hasSize(50).containsOnly(version(v2));
    }

    @Test
    void bufferedRequestsAreServedByTheVersionCurrentWhenTheirBatchRuns() throws Exception {
        start(Map.of(StreamformerConfig.BATCH_SIZE_CONFIG, "4", StreamformerConfig.BATCH_MAX_WAIT_MS_CONFIG, "60000"));
        send("a", null);
        send("b", null);
        assertThat(driver.predictions().isEmpty()).isTrue();
        assertThat(catalog.apply(release(v2, null, 0, false), 0)).isNull();
        send("c", null);
        send("d", null);
        assertThat(versionsServed()).containsExactly(version(v2), version(v2), version(v2), version(v2));
    }

    @Test
    void severalModelsAreRoutedByTheRequestsModelFieldAndAnUnknownNameIsADeadLetter() throws Exception {
        start(Map.of(StreamformerConfig.MODELS_CONFIG, "sentiment=" + second));
        send("a", null);
        send("b", "sentiment");
        send("c", "spam-filter");
        send("d", "weather");
        final List<Prediction> served = driver.predictions().readValuesToList();
        assertThat(served).extracting(p -> p.getModelName().toString())
                .containsExactly("spam-filter", "sentiment", "spam-filter");
        assertThat(served.get(1).getProbabilities().keySet()).containsExactlyInAnyOrder("negative", "neutral", "positive");
        final var letters = driver.deadLetters().readValuesToList();
        assertThat(letters).hasSize(1);
        assertThat(letters.get(0).getErrorKind()).isEqualTo(ErrorKind.VALIDATION);
        assertThat(letters.get(0).getErrorMessage()).contains("'weather'").contains("spam-filter").contains("sentiment");
    }
}
