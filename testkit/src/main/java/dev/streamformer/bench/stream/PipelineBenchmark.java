package dev.streamformer.bench.stream;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.streams.StreamsConfig;

import dev.streamformer.client.Requests;
import dev.streamformer.client.CommittedReads;
import dev.streamformer.client.RequestProducer;
import dev.streamformer.kafka.internals.TopicAdmin;
import dev.streamformer.model.EncoderInput;
import dev.streamformer.model.EngineSettings;
import dev.streamformer.model.ExitHeads;
import dev.streamformer.model.ExitPolicy;
import dev.streamformer.model.InferenceEngine;
import dev.streamformer.model.InferenceModel;
import dev.streamformer.monitor.LatencySummary;
import dev.streamformer.schemas.LatencyEvent;
import dev.streamformer.schemas.TokenizedInput;
import dev.streamformer.schemas.serde.StreamformerSerdes;
import dev.streamformer.schemas.wire.WireFormat;
import dev.streamformer.schemas.wire.WireSerdes;
import dev.streamformer.stream.ModelRegistry;
import dev.streamformer.stream.StreamformerApp;
import dev.streamformer.stream.StreamformerAppConfig;
import dev.streamformer.stream.StreamformerConfig;

/**
 * The pipeline suite: records per second through a real broker with every output committed
 * (exactly_once_v2, read back with read_committed), beside the model alone driven by the same
 * number of threads with the same intra-op threads and batch; and the latency percentiles the
 * processor's latency events report.
 */
public final class PipelineBenchmark {

    /**
     * One processor configuration.
     *
     * @param name a label for the tables
     * @param streamThreads Kafka Streams threads
     * @param intraOpThreads PyTorch threads per stream thread
     * @param batchSize requests per forward pass
     * @param maxWaitMs the longest a request waits for its batch
     * @param copyPerTask every task loads its own model copy (the usual design, baseline a)
     */
    public record Settings(String name, int streamThreads, int intraOpThreads, int batchSize, long maxWaitMs,
            boolean copyPerTask) {
    }

    /**
     * What one run measured.
     *
     * @param settings the configuration
     * @param records requests in the run
     * @param paceRecordsPerSecond the producer's rate, 0 when the requests were all in the topic before the start
     * @param recordsPerSecond committed predictions per second after the first 5 %
     * @param modelOnlyRecordsPerSecond the model alone, same threads, intra-op threads and batch
     * @param modelOnlyBatchMs median forward pass of one full batch in the model-only measurement
     * @param duplicates request ids seen more than once
     * @param missing request ids never seen
     * @param latencyMs p50/p95/p99/max by duration name, from the latency events
     * @param cpuShare where the process's CPU went while the measured records were processed, as
     *     fractions of all cores' time: forward passes (from the latency events), the rest of the
     *     stream threads (decode, validate, buffer, serialise, produce, commit), the processor's
     *     Kafka client threads, the benchmark's reader, and the remainder (the in-process broker,
     *     garbage collection, JIT); plus idle
     * @param meanLayersRun encoder layers run per request (the latency events' layers_run)
     */
    public record Run(Settings settings, int records, double paceRecordsPerSecond, double recordsPerSecond,
            double modelOnlyRecordsPerSecond, double modelOnlyBatchMs, int duplicates, int missing,
            Map<String, Map<String, Double>> latencyMs, Map<String, Double> cpuShare, double meanLayersRun) {

        /** @return pipeline records/s over model-only records/s */
        public double ofModelOnly() {
            return recordsPerSecond / modelOnlyRecordsPerSecond;
        }
    }

    private final String bootstrap;
    private final InferenceModel model;
    private final String modelDir;
    private final Path stateDir;
    private final int length;
    private final int partitions;
    private final Duration modelOnly;
    private final PrintStream log;
    private final Map<String, String> processorOverrides;

    /**
     * The latency a consumer of the outputs sees: request record timestamp to the latency event's arrival at a
     * read_committed reader (same clock: the benchmark produces the requests), so the commit interval is in it.
     * Meaningful for paced runs; in a saturated run it is mostly the time the request waited in the topic.
     */
    public static final String VISIBLE = "visible_read_committed";

    /**
     * @param bootstrap the broker
     * @param model the model, already loaded (its directory is given to the processor)
     * @param modelDir its directory
     * @param stateDir where the processors keep their state
     * @param length tokens per request
     * @param partitions partitions of each request topic
     * @param modelOnly how long each run's model-only figure is measured
     * @param log where progress goes
     */
    public PipelineBenchmark(final String bootstrap, final InferenceModel model, final Path modelDir,
            final Path stateDir, final int length, final int partitions, final Duration modelOnly,
            final PrintStream log) {
        this(bootstrap, model, modelDir, stateDir, length, partitions, modelOnly, log, Map.of());
    }

    /**
     * @param bootstrap the broker
     * @param model the model, already loaded (its directory is given to the processor)
     * @param modelDir its directory
     * @param stateDir where the processors keep their state
     * @param length tokens per request
     * @param partitions partitions of each request topic
     * @param modelOnly how long each run's model-only figure is measured
     * @param log where progress goes
     * @param processorOverrides processor properties (Kafka Streams, client or {@code streamformer.*} keys) set
     *     over the benchmark's own in every run, for measuring a configuration of one's own
     */
    public PipelineBenchmark(final String bootstrap, final InferenceModel model, final Path modelDir,
            final Path stateDir, final int length, final int partitions, final Duration modelOnly,
            final PrintStream log, final Map<String, String> processorOverrides) {
        this.processorOverrides = Map.copyOf(processorOverrides);
        this.bootstrap = bootstrap;
        this.model = model;
        this.modelDir = modelDir.toString();
        this.stateDir = stateDir;
        this.length = length;
        this.partitions = partitions;
        this.modelOnly = modelOnly;
        this.log = log;
    }

    /**
     * Creates a request topic and fills it before any processor starts.
     *
     * @param records how many requests
     * @return the topic
     * @throws InterruptedException when interrupted
     */
    public String prefill(final int records) throws InterruptedException {
        return prefill(records, StreamformerSerdes.tokenizedInput());
    }

    /**
     * Creates a request topic and fills it, in a format of one's choice, before any processor starts.
     *
     * @param records how many requests (the same ones whatever the format)
     * @param values how they are written, for example {@code new WireSerdes(format, registry).tokenizedInput().serializer()}
     * @return the topic
     * @throws InterruptedException when interrupted
     */
    public String prefill(final int records, final org.apache.kafka.common.serialization.Serializer<TokenizedInput> values)
            throws InterruptedException {
        final String topic = newTopic("bench-requests");
        RequestProducer.produce(client(), topic, requests(records), 0, values);
        return topic;
    }

    /**
     * Creates a request topic and fills it with real texts before any processor starts.
     *
     * @param texts token ids of texts, taken in turn (repeating when there are fewer than records)
     * @param records how many requests
     * @return the topic
     * @throws InterruptedException when interrupted
     */
    public String prefill(final List<int[]> texts, final int records) throws InterruptedException {
        final String topic = newTopic("bench-mail");
        final List<TokenizedInput> requests = new ArrayList<>(records);
        for (int i = 0; i < records; i++) {
            requests.add(Requests.of(String.format(Locale.ROOT, "bench-%06d", i), texts.get(i % texts.size())));
        }
        RequestProducer.produce(client(), topic, requests.iterator(), 0);
        return topic;
    }

    /**
     * Runs a processor over a topic that already holds every request (saturation).
     *
     * @param s the configuration
     * @param topic a topic from {@link #prefill}
     * @param records how many requests it holds
     * @return the measurement
     * @throws Exception when the processor fails
     */
    public Run saturated(final Settings s, final String topic, final int records) throws Exception {
        return measure(s, topic, records, 0, null);
    }

    /**
     * Runs a processor while a producer sends requests at a fixed rate.
     *
     * @param s the configuration
     * @param records how many requests
     * @param ratePerSecond the producer's rate
     * @return the measurement
     * @throws Exception when the processor fails
     */
    public Run paced(final Settings s, final int records, final double ratePerSecond) throws Exception {
        final String topic = newTopic("bench-paced");
        return measure(s, topic, records, ratePerSecond, requests(records));
    }

    /**
     * The model alone: {@code threads} threads each run forward passes of {@code batch} requests.
     *
     * @param threads calling threads
     * @param intraOp intra-op threads of each
     * @param batch requests per forward pass
     * @param duration how long to measure, after a warm-up of two passes per thread
     * @return records per second and the median batch time in ms
     * @throws Exception when a pass fails
     */
    public double[] modelOnly(final int threads, final int intraOp, final int batch, final Duration duration)
            throws Exception {
        final SplittableRandom random = new SplittableRandom(7);
        final List<EncoderInput> inputs = new ArrayList<>();
        for (int i = 0; i < batch; i++) {
            inputs.add(EncoderInput.of(random.ints(length, 0, model.config().vocabSize()).toArray()));
        }
        final ExecutorService pool = Executors.newFixedThreadPool(threads);
        // The processor's runs borrow this same loaded model from the JVM's registry.
        try (ModelRegistry.Lease lease = ModelRegistry.shared().acquire(modelDir,
                new EngineSettings(model.engine(), intraOp, model.settings().prepacking()), Integer.MAX_VALUE)) {
            final InferenceModel model = lease.model();
            // Under the exit policy the processor serves, so that "of model only" compares like with like.
            final ExitPolicy policy = servedPolicy(model, processorOverrides);
            final Runnable pass = () -> model.predict(inputs, policy);
            final List<Future<List<Double>>> futures = new ArrayList<>();
            final long end = System.nanoTime() + duration.toNanos();
            for (int t = 0; t < threads; t++) {
                futures.add(pool.submit(() -> {
                    pass.run();
                    pass.run();
                    final List<Double> seconds = new ArrayList<>();
                    while (System.nanoTime() < end) {
                        final long start = System.nanoTime();
                        pass.run();
                        seconds.add((System.nanoTime() - start) / 1e9);
                    }
                    return seconds;
                }));
            }
            double recordsPerSecond = 0;
            final List<Double> all = new ArrayList<>();
            for (final Future<List<Double>> f : futures) {
                final List<Double> seconds = f.get();
                recordsPerSecond += batch * seconds.size() / seconds.stream().mapToDouble(Double::doubleValue).sum();
                all.addAll(seconds);
            }
            all.sort(Double::compare);
            return new double[] {recordsPerSecond, all.isEmpty() ? Double.NaN : all.get(all.size() / 2) * 1e3};
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * @param model a model
     * @param properties processor properties
     * @return the exit policy a processor with these properties serves the model under: none for a model
     *     without exit heads, else {@code streamformer.exit.policy} when set, else the model's own
     */
    static ExitPolicy servedPolicy(final InferenceModel model, final Map<String, String> properties) {
        if (model.config().exits() == ExitHeads.NONE) {
            return ExitPolicy.NONE;
        }
        final String configured = properties.get(StreamformerConfig.EXIT_POLICY_CONFIG);
        return configured == null || configured.isBlank() ? model.exitPolicy() : ExitPolicy.parse(configured);
    }

    private Run measure(final Settings s, final String topic, final int records, final double rate,
            final Iterator<TokenizedInput> toProduce) throws Exception {
        final String id = "bench-" + s.name().replaceAll("[^a-zA-Z0-9]+", "-") + "-" + UUID.randomUUID().toString()
                .substring(0, 8);
        final Properties props = processorProperties(bootstrap, id, s, topic, partitions, modelDir, stateDir, model.engine());
        props.putAll(processorOverrides);
        final ModelRegistry registry = s.copyPerTask() ? new CopyingRegistry() : ModelRegistry.shared();
        log.printf(Locale.ROOT, "  %s: %d stream x %d intra-op threads, batch %d, wait %d ms%s, %d requests%s%n",
                s.name(), s.streamThreads(), s.intraOpThreads(), s.batchSize(), s.maxWaitMs(),
                s.copyPerTask() ? ", a model copy per task" : "", records,
                rate > 0 ? String.format(Locale.ROOT, " paced at %.1f/s", rate) : " already in the topic");
        final LatencySummary summary = new LatencySummary();
        // From the request's record timestamp (this JVM's producer clock) to its latency event reaching a
        // read_committed reader: what a consumer of the outputs waits, commit interval included.
        final List<Long> visibleMs = new ArrayList<>();
        final Set<String> seen = new HashSet<>();
        int duplicates = 0;
        long layersRun = 0;
        int withLayers = 0;
        final double perSecond;
        final Map<String, Double> cpuShare;
        final long startedAt = System.nanoTime();
        try (StreamformerApp app = StreamformerApp.start(props, registry);
                KafkaConsumer<String, byte[]> reader = reader(id + "-latency")) {
            Thread producer = null;
            final AtomicBoolean produceFailed = new AtomicBoolean();
            if (toProduce != null) {
                if (!app.awaitRunning(Duration.ofSeconds(60))) {
                    throw new IllegalStateException("processor " + id + " did not reach RUNNING within 60 s");
                }
                producer = new Thread(() -> {
                    try {
                        RequestProducer.produce(client(), topic, toProduce, rate);
                    } catch (Exception e) {
                        produceFailed.set(true);
                        log.println("  producer failed: " + e.getMessage());
                    }
                }, "bench-producer");
                producer.start();
            }
            // Latency events in whatever format the run writes them (framed ones through the run's registry).
            final org.apache.kafka.common.serialization.Deserializer<LatencyEvent> serde = new WireSerdes(WireFormat.AVRO,
                    new StreamformerConfig(props).schemaRegistry()).latencyEvent().deserializer();
            final int warm = Math.max(1, records / 20);
            long warmAt = 0;
            int warmCount = 0;
            CpuSnapshot cpuAtWarm = null;
            double inferenceSeconds = 0;
            long lastAt = 0;
            long idleSince = System.nanoTime();
            long nextProgress = System.nanoTime() + 10_000_000_000L;
            while (seen.size() < records && !produceFailed.get()) {
                int got = 0;
                for (final ConsumerRecord<String, byte[]> r : reader.poll(Duration.ofMillis(100))) {
                    final LatencyEvent event = serde.deserialize(r.topic(), r.value());
                    if (seen.add(event.getRequestId())) {
                        summary.add(event);
                        if (event.getLayersRun() != null) {
                            layersRun += event.getLayersRun();
                            withLayers++;
                        }
                        visibleMs.add(System.currentTimeMillis() - event.getRecordTimestampMs().toEpochMilli());
                        if (warmAt != 0) {
                            inferenceSeconds += event.getInferenceUs() / 1e6 / event.getBatchSize();
                        }
                    } else {
                        duplicates++;
                    }
                    got++;
                }
                final long now = System.nanoTime();
                if (got > 0) {
                    lastAt = now;
                    idleSince = now;
                    if (warmAt == 0 && seen.size() >= warm) {
                        warmAt = now;
                        warmCount = seen.size();
                        cpuAtWarm = CpuSnapshot.take(id);
                    }
                } else if (now - idleSince > 120_000_000_000L) {
                    throw new IllegalStateException("no output for 120 s from " + id + " after " + seen.size()
                            + " of " + records + " (state " + app.state() + ")");
                }
                if (now > nextProgress) {
                    log.printf("    ... %d of %d%n", seen.size(), records);
                    nextProgress = now + 10_000_000_000L;
                }
            }
            // A short run can commit every prediction in one transaction and so deliver them in one read: there
            // is no span after the warm-up then, and the rate is taken from the start, start-up included.
            perSecond = lastAt > warmAt ? (seen.size() - warmCount) / ((lastAt - warmAt) / 1e9)
                    : seen.size() / ((lastAt - startedAt) / 1e9);
            cpuShare = CpuSnapshot.take(id).shareSince(cpuAtWarm, (lastAt - warmAt) / 1e9, inferenceSeconds);
            if (producer != null) {
                producer.join();
            }
            app.close(Duration.ofSeconds(30));
        }
        final double[] alone = modelOnly(s.streamThreads(), s.intraOpThreads(), s.batchSize(), modelOnly);
        final Run run = new Run(s, records, rate, perSecond, alone[0], alone[1], duplicates, records - seen.size(),
                percentiles(summary, visibleMs), cpuShare, withLayers == 0 ? Double.NaN : (double) layersRun / withLayers);
        log.printf(Locale.ROOT, "    %.1f records/s through Kafka, %.1f model only (%.0f %%); processing p50 %.1f ms,"
                + " p99 %.1f ms%s%n", run.recordsPerSecond(), run.modelOnlyRecordsPerSecond(), 100 * run.ofModelOnly(),
                run.latencyMs().get("processing").get("p50"), run.latencyMs().get("processing").get("p99"),
                rate > 0 ? String.format(Locale.ROOT, "; visible to read_committed p50 %.1f ms, p99 %.1f ms",
                        run.latencyMs().get(VISIBLE).get("p50"), run.latencyMs().get(VISIBLE).get("p99")) : "");
        final StringBuilder cpu = new StringBuilder("    CPU of all cores:");
        cpuShare.forEach((k, v) -> cpu.append(String.format(Locale.ROOT, " %s %.0f %%,", k, 100 * v)));
        log.println(cpu.substring(0, cpu.length() - 1));
        return run;
    }

    /**
     * The processor's properties for one benchmark run: its own application id, output topics and state.
     *
     * @param bootstrap the broker
     * @param id application id, also the prefix of the output topics
     * @param s the configuration
     * @param topic the request topic
     * @param partitions partitions of topics the processor creates
     * @param modelDir the model
     * @param stateDir the parent of the state directory
     * @param engine the engine that serves
     * @return the properties
     */
    static Properties processorProperties(final String bootstrap, final String id, final Settings s, final String topic,
            final int partitions, final String modelDir, final Path stateDir, final InferenceEngine engine) {
        final Properties props = new Properties();
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, id);
        props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, Integer.toString(s.streamThreads()));
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.resolve(id).toString());
        props.put(StreamformerAppConfig.TOPIC_REQUESTS_CONFIG, topic);
        props.put(StreamformerAppConfig.TOPIC_PREDICTIONS_CONFIG, id + "-predictions");
        props.put(StreamformerAppConfig.TOPIC_LATENCY_CONFIG, id + "-latency");
        props.put(StreamformerAppConfig.TOPIC_DEAD_LETTERS_CONFIG, id + "-dead-letters");
        props.put(StreamformerAppConfig.TOPIC_PARTITIONS_CONFIG, Integer.toString(partitions));
        props.put(StreamformerConfig.MODEL_DIR_CONFIG, modelDir);
        props.put(StreamformerConfig.INTRA_OP_THREADS_CONFIG, Integer.toString(s.intraOpThreads()));
        props.put(StreamformerConfig.ENGINE_CONFIG, engine.configName());
        props.put(StreamformerConfig.BATCH_SIZE_CONFIG, Integer.toString(s.batchSize()));
        props.put(StreamformerConfig.BATCH_MAX_WAIT_MS_CONFIG, Long.toString(s.maxWaitMs()));
        return props;
    }

    private static Map<String, Map<String, Double>> percentiles(final LatencySummary summary,
            final List<Long> visibleMs) {
        final Map<String, Map<String, Double>> m = new LinkedHashMap<>();
        for (final String name : LatencySummary.DURATIONS.keySet()) {
            final Map<String, Double> p = new LinkedHashMap<>();
            p.put("p50", summary.percentileUs(name, 50) / 1e3);
            p.put("p95", summary.percentileUs(name, 95) / 1e3);
            p.put("p99", summary.percentileUs(name, 99) / 1e3);
            p.put("max", summary.percentileUs(name, 100) / 1e3);
            m.put(name, p);
        }
        final List<Long> visible = visibleMs.stream().sorted().toList();
        final Map<String, Double> p = new LinkedHashMap<>();
        for (final int q : new int[] {50, 95, 99, 100}) {
            p.put(q == 100 ? "max" : "p" + q, visible.isEmpty() ? Double.NaN
                    : (double) visible.get(Math.min(visible.size() - 1, (int) Math.ceil(q / 100.0 * visible.size()) - 1)));
        }
        m.put(VISIBLE, p);
        return m;
    }

    private String newTopic(final String prefix) {
        final String topic = prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
        TopicAdmin.ensure(client(), List.of(topic), new TopicAdmin.Spec(partitions, (short) 1, -2), true);
        return topic;
    }

    private Iterator<TokenizedInput> requests(final int records) {
        final SplittableRandom random = new SplittableRandom(11);
        final int vocab = model.config().vocabSize();
        return new Iterator<>() {
            private int next;

            @Override
            public boolean hasNext() {
                return next < records;
            }

            @Override
            public TokenizedInput next() {
                final String id = String.format(Locale.ROOT, "bench-%06d", next++);
                return Requests.of(id, random.ints(length, 0, vocab).toArray());
            }
        };
    }

    private Properties client() {
        final Properties p = new Properties();
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        return p;
    }

    private KafkaConsumer<String, byte[]> reader(final String topic) {
        return reader(bootstrap, topic);
    }

    /**
     * @param bootstrap the broker
     * @param topic the topic to read from its start
     * @return a read_committed consumer of a fresh group
     */
    static KafkaConsumer<String, byte[]> reader(final String bootstrap, final String topic) {
        final KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(
                CommittedReads.fromBeginning(bootstrap, "bench-reader-" + UUID.randomUUID()), new StringDeserializer(),
                new ByteArrayDeserializer());
        consumer.subscribe(List.of(topic));
        return consumer;
    }
}
