package dev.streamformer.fault;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

import dev.streamformer.client.Requests;
import dev.streamformer.client.CommittedReads;
import dev.streamformer.client.RequestProducer;
import dev.streamformer.model.ModelConfig;
import dev.streamformer.model.ModelDirectory;
import dev.streamformer.schemas.DeadLetter;
import dev.streamformer.schemas.LatencyEvent;
import dev.streamformer.schemas.TokenizedInput;
import dev.streamformer.schemas.serde.StreamformerSerdes;
import dev.streamformer.testkit.ChildProcess;
import dev.streamformer.testkit.EmbeddedKafka;

/**
 * Fault injection with the broker and the processors as separate processes (each a
 * {@code streamformer} command in its own JVM): requests stream in at a steady rate while
 * processors are killed with SIGKILL, the broker is killed and restarted or stopped for a while, a
 * second instance takes over, or a burst far above capacity arrives. Then a read_committed consumer
 * counts, for every request id, its predictions and latency events. Used by the CI test (short
 * runs) and by {@code streamformer soak} (long runs).
 */
public final class FaultSuite {

    /**
     * What every scenario shares.
     *
     * @param work a scratch directory (broker data, processor state, logs)
     * @param modelDir the model the processors serve
     * @param requests requests per scenario
     * @param ratePerSecond the producer's steady rate
     * @param kills processor kills in the crash scenarios
     * @param outage how long the broker stays down in the outage scenario
     * @param seed seeds the moments of the faults
     */
    public record Settings(Path work, Path modelDir, int requests, double ratePerSecond, int kills, Duration outage,
            long seed) {
    }

    /**
     * What a scenario found.
     *
     * @param scenario its name
     * @param guarantee processing.guarantee
     * @param produced requests acknowledged by the broker
     * @param predictions prediction records read
     * @param predictedIds distinct request ids predicted
     * @param duplicates prediction records beyond the first for an id
     * @param missing produced ids never predicted
     * @param latencyEvents latency event records read
     * @param deadLetters dead letters by kind
     * @param instancesThatServed distinct processor instances named in the latency events
     * @param peakResidentMb the largest resident memory of a processor seen, MB
     * @param seconds from the first request produced to the last prediction read
     * @param faults what was done, in order
     */
    public record Report(String scenario, String guarantee, long produced, long predictions, long predictedIds,
            long duplicates, long missing, long latencyEvents, Map<String, Long> deadLetters, int instancesThatServed,
            double peakResidentMb, double seconds, List<String> faults) {

        /** @return every request predicted once and nothing else */
        public boolean exactlyOnce() {
            return duplicates == 0 && missing == 0 && predictions == produced && latencyEvents == produced;
        }

        /** @return one line for the console and the notes */
        public String toLine() {
            return String.format(Locale.ROOT, "%-10s %-16s produced %6d, predictions %6d (%d ids), duplicates %4d,"
                    + " missing %d, latency events %6d, dead letters %s, instances %d, peak RSS %.0f MB, %.0f s; %s",
                    scenario, guarantee, produced, predictions, predictedIds, duplicates, missing, latencyEvents,
                    deadLetters, instancesThatServed, peakResidentMb, seconds, String.join(", ", faults));
        }
    }

    /** The overload burst is this many times the other scenarios' requests. */
    public static final int OVERLOAD_FACTOR = 5;

    private static final Pattern INSTANCE = Pattern.compile("-([0-9a-f]{8}-[0-9a-f-]{27})-StreamThread");

    private final Settings settings;
    private final PrintStream log;

    /**
     * @param settings what every scenario shares
     * @param log where progress goes
     */
    public FaultSuite(final Settings settings, final PrintStream log) {
        this.settings = settings;
        this.log = log;
    }

    /**
     * Kills the processor with SIGKILL several times at random moments (requests keep arriving, so
     * batches are buffered) and restarts it; halfway, kills the broker with SIGKILL and restarts it
     * while the processor runs.
     *
     * @param exactlyOnce exactly_once_v2, else at_least_once
     * @return the report
     * @throws Exception when a process cannot be started
     */
    public Report crash(final boolean exactlyOnce) throws Exception {
        final String name = exactlyOnce ? "crash" : "crash-alo";
        try (Scenario s = new Scenario(name, exactlyOnce)) {
            final Random random = new Random(settings.seed());
            final ChildProcess processor = s.processor(0, List.of()).start();
            s.awaitRunning(processor, 0);
            s.startProducing(settings.ratePerSecond());
            for (int kill = 1; kill <= settings.kills(); kill++) {
                Thread.sleep(1_500 + random.nextInt(2_500));
                if (kill == settings.kills() / 2 + 1) {
                    s.broker.kill();
                    s.faults.add("broker SIGKILL + restart after " + s.sent.get());
                    s.startBroker();
                    Thread.sleep(1_000 + random.nextInt(2_000));
                }
                final long before = processor.count("-> RUNNING");
                processor.kill();
                s.faults.add("processor SIGKILL after " + s.sent.get());
                processor.start();
                s.awaitRunning(processor, before);
            }
            return s.finish(List.of(processor));
        }
    }

    /**
     * Stops the broker for {@link Settings#outage()} while the processor runs, then starts it again;
     * the processor is never restarted.
     *
     * @return the report
     * @throws Exception when a process cannot be started
     */
    public Report brokerOutage() throws Exception {
        try (Scenario s = new Scenario("outage", true)) {
            final ChildProcess processor = s.processor(0, List.of()).start();
            s.awaitRunning(processor, 0);
            s.startProducing(settings.ratePerSecond());
            Thread.sleep(3_000);
            s.broker.stop(Duration.ofSeconds(30));
            s.faults.add("broker down for " + settings.outage().toSeconds() + " s after " + s.sent.get());
            Thread.sleep(settings.outage().toMillis());
            s.startBroker();
            if (!processor.alive()) {
                throw new IllegalStateException("the processor died during the broker outage; see " + processor.log());
            }
            final Report r = s.finish(List.of(processor));
            if (!processor.alive()) {
                throw new IllegalStateException("the processor died after the broker outage; see " + processor.log());
            }
            s.faults.add("processor never restarted");
            return r;
        }
    }

    /**
     * Two instances with the same application id share the partitions; one is killed with SIGKILL
     * and the other takes over its partitions.
     *
     * @return the report
     * @throws Exception when a process cannot be started
     */
    public Report scaleOut() throws Exception {
        try (Scenario s = new Scenario("scale-out", true)) {
            final ChildProcess a = s.processor(0, List.of()).start();
            final ChildProcess b = s.processor(1, List.of()).start();
            s.awaitRunning(a, 0);
            s.awaitRunning(b, 0);
            s.startProducing(settings.ratePerSecond());
            Thread.sleep(4_000);
            a.kill();
            s.faults.add("instance 1 of 2 SIGKILL after " + s.sent.get() + ", not restarted");
            return s.finish(List.of(b));
        }
    }

    /**
     * A burst of requests as fast as the producer can send them, far above what the processor
     * serves, against a processor with a small heap: Kafka holds the backlog, the processor drains
     * it without running out of memory.
     *
     * @return the report
     * @throws Exception when a process cannot be started
     */
    public Report overload() throws Exception {
        try (Scenario s = new Scenario("overload", true)) {
            s.requests = settings.requests() * OVERLOAD_FACTOR;
            final ChildProcess processor = s.processor(0, List.of("-Xmx256m")).start();
            s.awaitRunning(processor, 0);
            s.startProducing(0);
            s.producer.join();
            s.faults.add(String.format(Locale.ROOT, "burst of %d produced in %.1f s at full producer speed, processor"
                    + " heap 256 MB", s.sent.get(), (System.nanoTime() - s.startNanos) / 1e9));
            final Report r = s.finish(List.of(processor));
            if (!processor.alive()) {
                throw new IllegalStateException("the processor died under overload; see " + processor.log());
            }
            return r;
        }
    }

    /** One scenario's broker, processors, producer and reader. */
    private final class Scenario implements AutoCloseable {
        private final String name;
        private final boolean exactlyOnce;
        private final Path dir;
        private final int port;
        private final String topic;
        private final ChildProcess broker;
        private final List<ChildProcess> processors = new ArrayList<>();
        private final List<String> faults = new ArrayList<>();
        /** Requests handed to the producer so far: where the faults landed. */
        private final AtomicLong sent = new AtomicLong();
        /** Requests the broker acknowledged, known once producing ended. */
        private final AtomicLong acknowledged = new AtomicLong();
        private int requests = settings.requests();
        private final AtomicReference<Exception> producerFailure = new AtomicReference<>();
        private Thread producer;
        private long startNanos;
        private double peakResidentMb;

        Scenario(final String name, final boolean exactlyOnce) throws Exception {
            this.name = name;
            this.exactlyOnce = exactlyOnce;
            this.dir = settings.work().resolve(name);
            this.port = EmbeddedKafka.freePort();
            this.topic = name + "-requests";
            this.broker = new ChildProcess("broker", List.of("-Xmx512m"), List.of("broker", "--port",
                    Integer.toString(port), "--data-dir", dir.resolve("kafka").toString()), dir.resolve("broker.log"));
            log.printf("== %s (%s): broker on localhost:%d, logs in %s%n", name, guarantee(), port, dir);
            startBroker();
            try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap()))) {
                admin.createTopics(List.of(new NewTopic(topic, 4, (short) 1))).all().get();
            }
        }

        String bootstrap() {
            return "localhost:" + port;
        }

        String guarantee() {
            return exactlyOnce ? "exactly_once_v2" : "at_least_once";
        }

        void startBroker() throws Exception {
            final long before = broker.count("Kafka broker running on");
            broker.start();
            broker.await("Kafka broker running on", before + 1, Duration.ofSeconds(90));
        }

        ChildProcess processor(final int instance, final List<String> jvmOptions) {
            final List<String> args = new ArrayList<>(List.of("run", "-b", bootstrap(), "--model",
                    settings.modelDir().toString(), "--application-id", name + "-processor", "--stream-threads", "2",
                    "--requests-topic", topic, "--predictions-topic", name + "-predictions", "--latency-topic",
                    name + "-latency", "--dead-letter-topic", name + "-dead-letters",
                    "-p", "state.dir=" + dir.resolve("state-" + instance),
                    // Batches of 8 whatever the default: the changelogged batch buffer is the path a kill can hurt.
                    "-p", "streamformer.batch.size=8",
                    "-p", "streamformer.batch.max.wait.ms=200",
                    "-p", "producer.transaction.timeout.ms=10000",
                    "-p", "consumer.session.timeout.ms=6000"));
            if (!exactlyOnce) {
                args.add("--at-least-once");
            }
            final ChildProcess p = new ChildProcess("processor " + instance, jvmOptions, args,
                    dir.resolve("processor-" + instance + ".log"));
            processors.add(p);
            return p;
        }

        void awaitRunning(final ChildProcess p, final long before) throws Exception {
            p.await("-> RUNNING", before + 1, Duration.ofSeconds(120));
        }

        void startProducing(final double rate) {
            final ModelConfig config;
            try {
                config = ModelConfig.read(settings.modelDir().resolve(ModelDirectory.CONFIG));
            } catch (IOException e) {
                throw new IllegalStateException("cannot read the model's config.json: " + e.getMessage(), e);
            }
            final Properties p = new Properties();
            p.put("bootstrap.servers", bootstrap());
            // Survive broker restarts and outages: retry for up to 10 minutes, block up to 2 minutes on a full buffer.
            p.put("delivery.timeout.ms", "600000");
            p.put("request.timeout.ms", "15000");
            p.put("max.block.ms", "120000");
            startNanos = System.nanoTime();
            producer = new Thread(() -> {
                try {
                    acknowledged.set(RequestProducer.produce(p, topic, requests(config), rate));
                } catch (Exception e) {
                    producerFailure.set(e);
                }
            }, name + "-producer");
            producer.start();
        }

        Iterator<TokenizedInput> requests(final ModelConfig config) {
            final SplittableRandom random = new SplittableRandom(settings.seed());
            final int max = Math.min(config.maxPositions(), 64);
            return new Iterator<>() {
                private int next;

                @Override
                public boolean hasNext() {
                    return next < requests;
                }

                @Override
                public TokenizedInput next() {
                    final String id = String.format(Locale.ROOT, "%s-%06d", name, next++);
                    sent.incrementAndGet();
                    return Requests.of(id, random.ints(4 + random.nextInt(max - 4), 5, config.vocabSize()).toArray());
                }
            };
        }

        Report finish(final List<ChildProcess> survivors) throws Exception {
            producer.join();
            if (producerFailure.get() != null) {
                throw new IllegalStateException("producing failed: " + producerFailure.get().getMessage(),
                        producerFailure.get());
            }
            final long total = acknowledged.get();
            final Map<String, Integer> predictions = new HashMap<>();
            final Set<String> latencyIds = new HashSet<>();
            final Set<String> instances = new HashSet<>();
            final Map<String, Long> deadLetters = new TreeMap<>();
            long predictionRecords = 0;
            long latencyRecords = 0;
            final Properties p = CommittedReads.fromBeginning(bootstrap(), name + "-verifier");
            final long deadline = System.nanoTime() + Duration.ofMinutes(10).toNanos();
            long quietSince = System.nanoTime();
            long nextProgress = System.nanoTime() + 15_000_000_000L;
            try (KafkaConsumer<String, byte[]> reader = new KafkaConsumer<>(p, new StringDeserializer(),
                    new ByteArrayDeserializer())) {
                reader.subscribe(List.of(name + "-predictions", name + "-latency", name + "-dead-letters"));
                while (System.nanoTime() < deadline) {
                    int got = 0;
                    for (final ConsumerRecord<String, byte[]> r : reader.poll(Duration.ofMillis(200))) {
                        got++;
                        if (r.topic().endsWith("-predictions")) {
                            predictionRecords++;
                            predictions.merge(r.key(), 1, Integer::sum);
                        } else if (r.topic().endsWith("-latency")) {
                            latencyRecords++;
                            final LatencyEvent e = StreamformerSerdes.latencyEvent().deserialize(r.topic(), r.value());
                            latencyIds.add(e.getRequestId());
                            final Matcher m = INSTANCE.matcher(e.getStreamThread());
                            if (m.find()) {
                                instances.add(m.group(1));
                            }
                        } else {
                            final DeadLetter d = StreamformerSerdes.deadLetter().deserialize(r.topic(), r.value());
                            deadLetters.merge(d.getErrorKind().toString(), 1L, Long::sum);
                        }
                    }
                    for (final ChildProcess s : survivors) {
                        peakResidentMb = Math.max(peakResidentMb, s.residentMb());
                    }
                    final long now = System.nanoTime();
                    if (got > 0) {
                        quietSince = now;
                    } else if (predictions.size() >= total && latencyIds.size() >= total
                            && now - quietSince > 3_000_000_000L) {
                        break;
                    } else if (now - quietSince > 180_000_000_000L) {
                        break;
                    }
                    if (now > nextProgress) {
                        log.printf("   ... %d of %d predicted%n", predictions.size(), total);
                        nextProgress = now + 15_000_000_000L;
                    }
                }
            }
            final double seconds = (System.nanoTime() - startNanos) / 1e9;
            final long duplicates = predictions.values().stream().mapToLong(c -> c - 1).sum();
            final Report report = new Report(name, guarantee(), total, predictionRecords, predictions.size(),
                    duplicates, total - predictions.size(), latencyRecords, deadLetters, instances.size(),
                    peakResidentMb, seconds, faults);
            log.println(report.toLine());
            return report;
        }

        @Override
        public void close() throws Exception {
            for (final ChildProcess p : processors) {
                if (p.alive()) {
                    p.stop(Duration.ofSeconds(40));
                }
            }
            if (broker.alive()) {
                broker.stop(Duration.ofSeconds(40));
            }
        }
    }

    /**
     * Writes a line per report, for the notes.
     *
     * @param reports the reports
     * @param file where to write
     * @throws IOException when writing fails
     */
    public static void write(final List<Report> reports, final Path file) throws IOException {
        final List<String> lines = new ArrayList<>();
        reports.forEach(r -> lines.add(r.toLine()));
        Files.write(file, lines);
    }
}
