package dev.streamformer.demo;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.stream.Stream;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.streams.StreamsConfig;

import dev.streamformer.stream.StreamformerAppConfig;
import dev.streamformer.client.CommittedReads;
import dev.streamformer.client.RequestProducer;
import dev.streamformer.corpus.DemoSample;
import dev.streamformer.kafka.internals.TopicAdmin;
import dev.streamformer.model.DefaultModel;
import dev.streamformer.model.InferenceEngine;
import dev.streamformer.monitor.LatencySummary;
import dev.streamformer.schemas.LatencyEvent;
import dev.streamformer.schemas.Prediction;
import dev.streamformer.schemas.TokenizedInput;
import dev.streamformer.schemas.serde.SingleObjectSerde;
import dev.streamformer.schemas.serde.StreamformerSerdes;
import dev.streamformer.stream.ModelRegistry;
import dev.streamformer.stream.StreamformerApp;
import dev.streamformer.stream.StreamformerConfig;
import dev.streamformer.testkit.EmbeddedKafka;
import dev.streamformer.text.TextTokenizer;
import dev.streamformer.client.Requests;

/**
 * The one-command demo: an in-process KRaft broker, the topics, the shipped model, requests
 * tokenized from the bundled sample of held-out e-mails, the processor with several stream
 * threads, then a few predictions, the accuracy against the sample's labels and a latency table.
 */
public final class Demo {

    /**
     * Settings of a demo run.
     *
     * @param requests how many requests to produce (the sample repeats if needed)
     * @param streamThreads Kafka Streams threads
     * @param intraOpThreads threads of one forward pass
     * @param engine the engine of the forward pass
     * @param maxLength tokens per request; 0 = the model's input length
     * @param partitions request topic partitions
     * @param show predictions to print
     * @param timeout the longest to wait for all predictions
     * @param exitPolicy the exit policy ({@code streamformer.exit.policy}); null = the model's own
     */
    public record Settings(int requests, int streamThreads, int intraOpThreads, InferenceEngine engine, int maxLength,
            int partitions, int show, Duration timeout, String exitPolicy) {
    }

    /**
     * What the demo saw.
     *
     * @param produced requests produced
     * @param predicted predictions read (read_committed)
     * @param correct predictions whose label matched the sample's label
     * @param seconds from the first request produced to the last prediction read
     */
    public record Result(long produced, int predicted, int correct, double seconds) {
    }

    private Demo() {
    }

    /**
     * Runs the demo and prints its report.
     *
     * @param s the settings
     * @param out where to print
     * @return what happened
     * @throws Exception when a part fails to start
     */
    public static Result run(final Settings s, final PrintStream out) throws Exception {
        final Path work = Files.createTempDirectory("streamformer-demo-");
        try (EmbeddedKafka kafka = EmbeddedKafka.start(work.resolve("kafka"), 0, Map.of())) {
            out.printf("1. Kafka broker (in-process KRaft) on %s%n", kafka.bootstrapServers());
            final Properties props = new Properties();
            props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
            props.put(StreamsConfig.APPLICATION_ID_CONFIG, "streamformer-demo");
            props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, Integer.toString(s.streamThreads()));
            props.put(StreamsConfig.STATE_DIR_CONFIG, work.resolve("state").toString());
            props.put(StreamformerConfig.INTRA_OP_THREADS_CONFIG, Integer.toString(s.intraOpThreads()));
            props.put(StreamformerConfig.ENGINE_CONFIG, s.engine().configName());
            props.put(StreamformerAppConfig.TOPIC_PARTITIONS_CONFIG, Integer.toString(s.partitions()));
            if (s.exitPolicy() != null) {
                props.put(StreamformerConfig.EXIT_POLICY_CONFIG, s.exitPolicy());
            }
            final StreamformerAppConfig config = new StreamformerAppConfig(props);
            TopicAdmin.ensure(StreamformerConfig.kafkaOnly(props), List.of(config.requestsTopic()),
                    new TopicAdmin.Spec(s.partitions(), (short) 1, -2), true);

            final Path modelDir = DefaultModel.directory();
            final List<DemoSample.Item> sample = DemoSample.bundled();
            final Map<String, DemoSample.Item> byRequest = new HashMap<>();
            final List<TokenizedInput> requests = new ArrayList<>();
            final int maxLength = TextTokenizer.length(modelDir, s.maxLength());
            try (TextTokenizer tokenizer = TextTokenizer.load(modelDir, maxLength)) {
                for (int i = 0; i < s.requests(); i++) {
                    final DemoSample.Item item = sample.get(i % sample.size());
                    final String id = String.format(Locale.ROOT, "demo-%05d", i);
                    byRequest.put(id, item);
                    requests.add(Requests.of(id, tokenizer.encode(item.text()), Map.of("corpus_id", item.id())));
                }
            }
            out.printf("2. Tokenized %d requests from the %d e-mails of the bundled held-out sample (at most %d tokens"
                    + " each)%n", requests.size(), sample.size(), maxLength);

            final long start = System.nanoTime();
            try (StreamformerApp app = StreamformerApp.start(props, ModelRegistry.shared())) {
                final long produced = RequestProducer.produce(StreamformerConfig.kafkaOnly(props), config.requestsTopic(),
                        requests.iterator(), 0);
                out.printf("3. Produced %d requests to %s (%d partitions); processor running on %s with %d stream"
                        + " threads x %d intra-op threads%n", produced, config.requestsTopic(), s.partitions(), s.engine(),
                        s.streamThreads(), s.intraOpThreads());
                final List<Prediction> predictions = new ArrayList<>();
                final List<LatencyEvent> latency = new ArrayList<>();
                readCommitted(kafka.bootstrapServers(), config, s, predictions, latency, out);
                final double seconds = (System.nanoTime() - start) / 1e9;
                return report(s, out, byRequest, produced, predictions, latency, seconds);
            }
        } finally {
            deleteQuietly(work);
        }
    }

    private static void readCommitted(final String bootstrap, final StreamformerAppConfig config, final Settings s,
            final List<Prediction> predictions, final List<LatencyEvent> latency, final PrintStream out) {
        final Properties p = CommittedReads.fromBeginning(bootstrap, "demo-reader-" + UUID.randomUUID());
        final SingleObjectSerde<Prediction> predictionSerde = StreamformerSerdes.prediction();
        final SingleObjectSerde<LatencyEvent> latencySerde = StreamformerSerdes.latencyEvent();
        final long deadline = System.nanoTime() + s.timeout().toNanos();
        long nextProgress = System.nanoTime() + 5_000_000_000L;
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(p, new StringDeserializer(),
                new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(config.predictionsTopic(), config.latencyTopic()));
            while ((predictions.size() < s.requests() || latency.size() < s.requests()) && System.nanoTime() < deadline) {
                for (final ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    if (r.topic().equals(config.predictionsTopic())) {
                        predictions.add(predictionSerde.deserialize(r.topic(), r.value()));
                    } else {
                        latency.add(latencySerde.deserialize(r.topic(), r.value()));
                    }
                }
                if (System.nanoTime() > nextProgress) {
                    out.printf("   ... %d of %d predictions committed%n", predictions.size(), s.requests());
                    nextProgress += 5_000_000_000L;
                }
            }
        }
    }

    private static Result report(final Settings s, final PrintStream out, final Map<String, DemoSample.Item> byRequest,
            final long produced, final List<Prediction> predictions, final List<LatencyEvent> latency,
            final double seconds) {
        out.printf("4. Read %d predictions and %d latency events (read_committed) in %.1f s: %.1f records/s%n%n",
                predictions.size(), latency.size(), seconds, predictions.size() / seconds);
        final Prediction first = predictions.isEmpty() ? null : predictions.get(0);
        if (first != null) {
            out.printf("Model %s, version %s%n", first.getModelName(), first.getModelVersion());
        }
        out.printf("%-12s %-6s %-6s %7s  %s%n", "request", "truth", "label", "p(spam)", "text");
        predictions.stream().sorted(Comparator.comparing(Prediction::getRequestId)).limit(s.show()).forEach(pr -> {
            final DemoSample.Item item = byRequest.get(pr.getRequestId());
            final String text = item.text().length() > 60 ? item.text().substring(0, 57) + "..." : item.text();
            out.printf(Locale.ROOT, "%-12s %-6s %-6s %7.3f  %s%n", pr.getRequestId(), item.label(), pr.getLabel(),
                    pr.getProbabilities().getOrDefault("spam", Double.NaN), text);
        });
        int correct = 0;
        for (final Prediction pr : predictions) {
            if (byRequest.get(pr.getRequestId()).label().equals(pr.getLabel())) {
                correct++;
            }
        }
        final long spam = predictions.stream().filter(pr -> byRequest.get(pr.getRequestId()).label().equals("spam")).count();
        out.printf(Locale.ROOT, "%nAccuracy on the %d requests from held-out e-mails: %.1f%% (%d correct; %.1f%% of them"
                + " are spam)%n",
                predictions.size(), 100.0 * correct / Math.max(1, predictions.size()), correct,
                100.0 * spam / Math.max(1, predictions.size()));
        final java.util.IntSummaryStatistics layers = latency.stream().filter(e -> e.getLayersRun() != null)
                .mapToInt(LatencyEvent::getLayersRun).summaryStatistics();
        if (layers.getCount() > 0) {
            out.printf(Locale.ROOT, "Encoder layers run per request: mean %.2f (%d to %d)%s%n", layers.getAverage(),
                    layers.getMin(), layers.getMax(), s.exitPolicy() == null ? ", under the model's own exit policy"
                            : ", exit policy " + s.exitPolicy());
        }
        final LatencySummary summary = new LatencySummary();
        latency.forEach(summary::add);
        out.printf("%nLatency of %d requests, ms. queueing = in Kafka before the processor read it (the demo produces"
                + " every request at once, so it grows with the backlog); processing = received to handed to Kafka%n",
                summary.count());
        out.print(summary.toTable());
        return new Result(produced, predictions.size(), correct, seconds);
    }

    private static void deleteQuietly(final Path dir) {
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // Temporary files; the OS cleans them up eventually.
        }
    }
}
