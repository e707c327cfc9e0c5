package dev.streamformer.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import dev.streamformer.model.EncoderInput;
import dev.streamformer.model.ExitHeads;
import dev.streamformer.model.ExitPolicy;
import dev.streamformer.model.InferenceModel;
import dev.streamformer.model.ModelConfig;
import dev.streamformer.model.SharingPlan;
import dev.streamformer.model.TestModels;
import dev.streamformer.schemas.Prediction;
import dev.streamformer.schemas.TokenizedInput;
import dev.streamformer.schemas.serde.StreamformerSerdes;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

/**
 * The processor serves a model with exit heads under the configured exit policy: each prediction is
 * its exit's answer, and /metrics counts the layers every request ran.
 */
class EarlyExitServingTest {

    @TempDir
    Path modelDir;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"confidence:0.5", "patience:2", "none"})
    void eachPredictionIsItsExitsAnswerAndMetricsCountTheLayersRun(final String policy) throws Exception {
        final ModelConfig config = TestModels.small(SharingPlan.ALL).withExits(ExitHeads.PER_LAYER);
        TestModels.randomized(config, 13).save(modelDir);
        final Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "exits-test");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        props.put(StreamformerConfig.MODEL_DIR_CONFIG, modelDir.toString());
        props.put(StreamformerConfig.BATCH_SIZE_CONFIG, "3");
        props.put(StreamformerConfig.EXIT_POLICY_CONFIG, policy);
        final PrometheusMeterRegistry prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        prometheus.config().meterFilter(new PrometheusNames());
        final List<List<Integer>> ids = List.of(List.of(2, 5, 9, 3), List.of(2, 7, 3), List.of(2, 11, 12, 13, 3));
        try (TopologyTestDriver driver = new TopologyTestDriver(StreamformerTopology.build(new StreamformerAppConfig(props),
                new ModelCatalog(new StreamformerConfig(props), new ModelRegistry(), new ServingMetrics(prometheus))),
                props)) {
            final TestInputTopic<byte[], byte[]> in = driver.createInputTopic("streamformer-requests",
                    new ByteArraySerializer(), new ByteArraySerializer());
            final TestOutputTopic<String, Prediction> out = driver.createOutputTopic("streamformer-predictions",
                    new StringDeserializer(), StreamformerSerdes.prediction());
            for (int i = 0; i < ids.size(); i++) {
                in.pipeInput(("e-" + i).getBytes(), StreamformerSerdes.tokenizedInput().serialize("t",
                        TokenizedInput.newBuilder().setRequestId("e-" + i).setTokenIds(ids.get(i))
                                .setCreatedAt(Instant.ofEpochMilli(1_000)).setMetadata(Map.of()).build()));
            }
            final Map<String, Prediction> byId = new java.util.HashMap<>();
            out.readValuesToList().forEach(pr -> byId.put(pr.getRequestId(), pr));
            assertThat(byId).hasSize(ids.size());
            final List<Prediction> predictions = java.util.stream.IntStream.range(0, ids.size())
                    .mapToObj(i -> byId.get("e-" + i)).toList();
            final List<InferenceModel.Exit> expected;
            try (InferenceModel alone = InferenceModel.load(modelDir)) {
                expected = alone.predict(ids.stream().map(l -> EncoderInput.of(l.stream().mapToInt(x -> x).toArray()))
                        .toList(), ExitPolicy.parse(policy));
            }
            int layers = 0;
            for (int i = 0; i < ids.size(); i++) {
                assertThat(predictions.get(i).getProbabilities().get("spam")).as("request %d", i)
                        .isCloseTo(expected.get(i).output().probabilities()[1], within(1e-5));
                assertThat(predictions.get(i).getExitLayer()).as("request %d's exit layer", i)
                        .isEqualTo(expected.get(i).layers());
                layers += expected.get(i).layers();
            }
            final String text = prometheus.scrape();
            assertThat(sample(text, "streamformer_exit_layers_count")).isEqualTo(ids.size());
            assertThat(sample(text, "streamformer_exit_layers_sum")).isEqualTo(layers);
            if (policy.equals("none")) {
                assertThat(layers).isEqualTo(ids.size() * config.numLayers());
            }
            if (policy.equals("confidence:0.5")) {
                assertThat(layers).as("two labels: at least half sure after layer 1").isEqualTo(ids.size());
            }
        }
    }

    @org.junit.jupiter.api.Test
    void aRequestThatLeavesEarlyIsForwardedBeforeTheRequestsBehindItRunOnInRequestOrder() throws Exception {
        final ModelConfig config = TestModels.small(SharingPlan.ALL).withExits(ExitHeads.SHARED);
        TestModels.randomized(config, 17).save(modelDir);
        final List<List<Integer>> texts = List.of(List.of(2, 5, 9, 3), List.of(2, 7, 3), List.of(2, 11, 12, 13, 3),
                List.of(2, 21, 3), List.of(2, 30, 31, 3), List.of(2, 40, 3));
        final List<EncoderInput> unordered = texts.stream().map(l -> EncoderInput.of(l.stream().mapToInt(x -> x)
                .toArray())).toList();
        // A threshold between the requests' first-exit confidences: some leave after layer 1, some run on.
        final ExitPolicy policy;
        final List<InferenceModel.Exit> alone;
        final List<List<Integer>> ids;
        final List<EncoderInput> inputs;
        try (InferenceModel model = InferenceModel.load(modelDir)) {
            final double[] first = model.predict(unordered, ExitPolicy.parse("patience:1")).stream()
                    .mapToDouble(e -> Math.max(e.output().probabilities()[0], e.output().probabilities()[1])).sorted()
                    .toArray();
            policy = new ExitPolicy(ExitPolicy.Kind.CONFIDENCE, (first[2] + first[3]) / 2, 0);
            // The requests that leave after layer 1 first, then those that run on.
            final List<InferenceModel.Exit> exits = model.predict(unordered, policy);
            final List<Integer> order = java.util.stream.IntStream.range(0, texts.size()).boxed()
                    .sorted(java.util.Comparator.comparingInt(i -> exits.get(i).layers())).toList();
            ids = order.stream().map(texts::get).toList();
            inputs = order.stream().map(unordered::get).toList();
            alone = model.predict(inputs, policy);
        }
        assertThat(alone.get(0).layers()).as("the first request leaves after layer 1").isEqualTo(1);
        assertThat(alone.get(alone.size() - 1).layers()).as("the last runs on").isGreaterThan(1);
        final Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "exits-order-test");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        props.put(StreamformerConfig.MODEL_DIR_CONFIG, modelDir.toString());
        props.put(StreamformerConfig.BATCH_SIZE_CONFIG, Integer.toString(ids.size()));
        props.put(StreamformerConfig.BATCH_LENGTH_BUCKETS_CONFIG, "false");
        props.put(StreamformerConfig.EXIT_POLICY_CONFIG, policy.toString());
        try (TopologyTestDriver driver = new TopologyTestDriver(StreamformerTopology.build(new StreamformerAppConfig(props),
                new ModelCatalog(new StreamformerConfig(props), new ModelRegistry(), new ServingMetrics(
                        new PrometheusMeterRegistry(PrometheusConfig.DEFAULT)))), props)) {
            final TestInputTopic<byte[], byte[]> in = driver.createInputTopic("streamformer-requests",
                    new ByteArraySerializer(), new ByteArraySerializer());
            final TestOutputTopic<String, dev.streamformer.schemas.LatencyEvent> latency = driver.createOutputTopic(
                    "streamformer-latency", new StringDeserializer(), StreamformerSerdes.latencyEvent());
            for (int i = 0; i < ids.size(); i++) {
                in.pipeInput(("o-" + i).getBytes(), StreamformerSerdes.tokenizedInput().serialize("t",
                        TokenizedInput.newBuilder().setRequestId("o-" + i).setTokenIds(ids.get(i))
                                .setCreatedAt(Instant.ofEpochMilli(1_000)).setMetadata(Map.of()).build()));
            }
            final List<dev.streamformer.schemas.LatencyEvent> events = latency.readValuesToList();
            assertThat(events).hasSize(ids.size()).allSatisfy(e -> assertThat(e.getBatchSize()).isEqualTo(ids.size()));
            assertThat(events).extracting(dev.streamformer.schemas.LatencyEvent::getRequestId).as("request order")
                    .containsExactly(java.util.stream.IntStream.range(0, ids.size()).mapToObj(i -> "o-" + i)
                            .toArray(String[]::new));
            for (int k = 0; k < events.size(); k++) {
                assertThat(events.get(k).getLayersRun()).as("o-%d", k).isEqualTo(alone.get(k).layers());
                // Each one's forward pass ends when it leaves: no later than the next one's.
                if (k > 0) {
                    assertThat(events.get(k).getInferenceEndUs()).isGreaterThanOrEqualTo(events.get(k - 1).getInferenceEndUs());
                }
            }
            assertThat(events.get(0).getInferenceEndUs()).as("the first left after layer 1, before the last left")
                    .isLessThan(events.get(events.size() - 1).getInferenceEndUs());
            assertThat(events.get(0).getHandedToKafkaUs()).as("and was forwarded before the last left")
                    .isLessThanOrEqualTo(events.get(events.size() - 1).getInferenceEndUs());
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"patience:2", "none"})
    void aPoolOfBufferedRequestsRunsWithDepthWiseRefillInBatchSizeRowsAndEachAnswersAsItWouldAlone(final String policy)
            throws Exception {
        final ModelConfig config = TestModels.small(SharingPlan.ALL).withExits(ExitHeads.SHARED);
        TestModels.randomized(config, 23).save(modelDir);
        final List<List<Integer>> ids = List.of(List.of(2, 5, 9, 3), List.of(2, 7, 3), List.of(2, 11, 12, 13, 3),
                List.of(2, 21, 3), List.of(2, 30, 31, 3));
        final Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "exits-refill-test");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        props.put(StreamformerConfig.MODEL_DIR_CONFIG, modelDir.toString());
        props.put(StreamformerConfig.BATCH_SIZE_CONFIG, "2");
        props.put(StreamformerConfig.EXIT_REFILL_POOL_CONFIG, "5");
        props.put(StreamformerConfig.BATCH_LENGTH_BUCKETS_CONFIG, "false");
        props.put(StreamformerConfig.EXIT_POLICY_CONFIG, policy);
        // What the processor asks of the engine: the rows of each product and the records of each pool.
        final List<int[]> refills = new java.util.concurrent.CopyOnWriteArrayList<>();
        final List<Integer> batches = new java.util.concurrent.CopyOnWriteArrayList<>();
        final ModelRegistry watched = new ModelRegistry() {
            @Override
            protected InferenceModel load(final String dir, final dev.streamformer.model.EngineSettings engine)
                    throws java.io.IOException {
                return super.load(dir, engine).wrapped(pass -> new dev.streamformer.model.DelegatingForwardPass(pass) {
                    @Override
                    public float[] logits(final dev.streamformer.model.EncoderBatch batch) {
                        batches.add(batch.size());
                        return delegate.logits(batch);
                    }

                    @Override
                    public Exited logitsWithExits(final dev.streamformer.model.EncoderBatch batch, final ExitPolicy p,
                            final Leaving leaving) {
                        batches.add(batch.size());
                        return delegate.logitsWithExits(batch, p, leaving);
                    }

                    @Override
                    public Exited logitsWithRefill(final dev.streamformer.model.EncoderBatch pool, final int width,
                            final ExitPolicy p, final Leaving leaving) {
                        refills.add(new int[] {pool.size(), width});
                        return delegate.logitsWithRefill(pool, width, p, leaving);
                    }
                });
            }
        };
        final PrometheusMeterRegistry prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        prometheus.config().meterFilter(new PrometheusNames());
        try (TopologyTestDriver driver = new TopologyTestDriver(StreamformerTopology.build(new StreamformerAppConfig(props),
                new ModelCatalog(new StreamformerConfig(props), watched, new ServingMetrics(prometheus))), props)) {
            final TestInputTopic<byte[], byte[]> in = driver.createInputTopic("streamformer-requests",
                    new ByteArraySerializer(), new ByteArraySerializer());
            final TestOutputTopic<String, Prediction> out = driver.createOutputTopic("streamformer-predictions",
                    new StringDeserializer(), StreamformerSerdes.prediction());
            for (int i = 0; i < ids.size(); i++) {
                in.pipeInput(("r-" + i).getBytes(), StreamformerSerdes.tokenizedInput().serialize("t",
                        TokenizedInput.newBuilder().setRequestId("r-" + i).setTokenIds(ids.get(i))
                                .setCreatedAt(Instant.ofEpochMilli(1_000)).setMetadata(Map.of()).build()));
                if (i < ids.size() - 1) {
                    assertThat(out.isEmpty()).as("the buffer waits for the pool of 5, not the batch of 2").isTrue();
                }
            }
            final List<Prediction> predictions = out.readValuesToList();
            assertThat(predictions).extracting(Prediction::getRequestId).as("request order")
                    .containsExactly("r-0", "r-1", "r-2", "r-3", "r-4");
            final List<InferenceModel.Exit> alone;
            try (InferenceModel model = InferenceModel.load(modelDir)) {
                alone = ids.stream().map(l -> model.predict(List.of(EncoderInput.of(l.stream().mapToInt(x -> x)
                        .toArray())), ExitPolicy.parse(policy)).get(0)).toList();
            }
            for (int i = 0; i < ids.size(); i++) {
                assertThat(predictions.get(i).getProbabilities().get("spam")).as("r-%d", i)
                        .isCloseTo(alone.get(i).output().probabilities()[1], within(1e-4));
                assertThat(predictions.get(i).getExitLayer()).as("r-%d's exit layer", i).isEqualTo(alone.get(i).layers());
            }
            assertThat(sample(prometheus.scrape(), "streamformer_forward_passes_total")).as("one pass for the pool")
                    .isEqualTo(policy.equals("none") ? 3 : 1);
            if (policy.equals("none")) {
                assertThat(refills).as("every record runs every layer: nothing to refill").isEmpty();
                assertThat(batches).as("batches of the batch size").containsExactly(2, 2, 1);
            } else {
                assertThat(refills).as("the pool of 5 on 2 running rows").hasSize(1)
                        .allSatisfy(r -> assertThat(r).containsExactly(5, 2));
            }
        }
    }

    @org.junit.jupiter.api.Test
    void aRefillPoolNotAboveTheBatchSizeIsRefusedNamingTheFix() {
        final Properties props = new Properties();
        props.put(StreamformerConfig.BATCH_SIZE_CONFIG, "8");
        props.put(StreamformerConfig.EXIT_REFILL_POOL_CONFIG, "8");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new StreamformerConfig(props).refillPool())
                .isInstanceOf(org.apache.kafka.common.config.ConfigException.class)
                .hasMessageContaining("streamformer.exit.refill.pool").hasMessageContaining("above 8 (for example 16)");
    }

    private static double sample(final String text, final String name) {
        final Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + "\\{[^}]*\\} (\\S+)$").matcher(text);
        assertThat(m.find()).as("%s in%n%s", name, text).isTrue();
        return Double.parseDouble(m.group(1));
    }
}
