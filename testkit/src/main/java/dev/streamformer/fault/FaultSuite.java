package dev.streamformer.fault;

import static java.util.stream.Collectors.joining;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListTopicsOptions;
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
import dev.streamformer.release.ModelReleases;
import dev.streamformer.schemas.DeadLetter;
import dev.streamformer.schemas.LatencyEvent;
import dev.streamformer.schemas.TokenizedInput;
import dev.streamformer.schemas.serde.StreamformerSerdes;
import dev.streamformer.testkit.ChildProcess;
import dev.streamformer.testkit.EmbeddedKafka;

/**
 * Fault injection with the brokers and the processors as separate processes (each a
 * {@code streamformer} command in its own JVM): requests stream in at a steady rate while
 * processors are killed with SIGKILL or restarted, brokers are killed and restarted, stopped for a
 * while or restarted one by one, a second instance takes over, a model version is published, or a
 * burst far above capacity arrives; on one broker or on three (replication 3, {@code
 * min.insync.replicas} 2). A read_committed consumer watches the output as it comes, for the
 * recovery time of each fault ({@link Recovery}), and at the end counts, for every request id, its
 * predictions and latency events. Used by the CI test (short runs) and by {@code streamformer
 * soak} (long runs, and the hour under load with the memory series, {@link #longRun}).
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
     * @param processorProperties {@code key=value} settings every processor gets on top of its defaults
     *     (to compare settings: {@code group.instance.id=} turns static membership off)
     */
    public record Settings(Path work, Path modelDir, int requests, double ratePerSecond, int kills, Duration outage,
            long seed, List<String> processorProperties) {

        /** The settings with no processor properties of their own. */
        public Settings(final Path work, final Path modelDir, final int requests, final double ratePerSecond,
                final int kills, final Duration outage, final long seed) {
            this(work, modelDir, requests, ratePerSecond, kills, outage, seed, List.of());
        }
    }

    /**
     * How long the output stopped after a fault, as a read_committed consumer of the outputs saw it.
     *
     * @param fault what was done
     * @param firstSeconds from the fault to the first prediction computed after it
     * @param everyPartitionSeconds from the fault until every request partition had such a prediction;
     *     NaN when some partition had none (no more requests reached it)
     */
    public record Recovery(String fault, double firstSeconds, double everyPartitionSeconds) {

        /** @return one phrase for the report */
        public String toText() {
            return String.format(Locale.ROOT, "%s: first prediction after %.1f s, every partition after %s", fault,
                    firstSeconds, Double.isNaN(everyPartitionSeconds) ? "-"
                            : String.format(Locale.ROOT, "%.1f s", everyPartitionSeconds));
        }
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
     * @param modelVersions the model versions named in the latency events, in the order they first appeared
     * @param peakResidentMb the largest resident memory of a processor seen, MB
     * @param seconds from the first request produced to the last prediction read
     * @param faults what was done, in order
     * @param recoveries how long the output stopped after each fault that stops it
     * @param longestGapSeconds the longest time between two consecutive outputs a consumer saw
     */
    public record Report(String scenario, String guarantee, long produced, long predictions, long predictedIds,
            long duplicates, long missing, long latencyEvents, Map<String, Long> deadLetters, int instancesThatServed,
            List<String> modelVersions, double peakResidentMb, double seconds, List<String> faults, List<Recovery> recoveries,
            double longestGapSeconds) {

        /** @return every request predicted once and nothing else */
        public boolean exactlyOnce() {
            return duplicates == 0 && missing == 0 && predictions == produced && latencyEvents == produced;
        }

        /** @return one line for the console and the notes */
        public String toLine() {
            return String.format(Locale.ROOT, "%-10s %-16s produced %6d, predictions %6d (%d ids), duplicates %4d,"
                    + " missing %d, latency events %6d, dead letters %s, instances %d, versions %s, peak RSS %.0f MB,"
                    + " %.0f s; %s;"
                    + " longest output gap %.1f s%s",
                    scenario, guarantee, produced, predictions, predictedIds, duplicates, missing, latencyEvents,
                    deadLetters, instancesThatServed, modelVersions, peakResidentMb, seconds, String.join(", ", faults),
                    longestGapSeconds, recoveries.stream().map(r -> "\n    " + r.toText()).collect(joining()));
        }
    }

    /** Partitions of the request topic. */
    public static final int PARTITIONS = 4;

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
                    s.broker(0).kill();
                    s.fault("broker SIGKILL + restart after " + s.sent.get());
                    s.startBroker(0);
                    Thread.sleep(1_000 + random.nextInt(2_000));
                }
                final long before = processor.count("-> RUNNING");
                processor.kill();
                s.fault("processor SIGKILL after " + s.sent.get());
                processor.start();
                s.awaitRunning(processor, before);
            }
            return s.finish(List.of(processor));
        }
    }

    /**
     * How fast the output comes back after the processor stops: {@link Settings#kills()} times, in
     * turn SIGKILLed and started again at once with its state directory (a restarted instance),
     * SIGKILLed and started with an empty one (a replacement, as on a new volume), and stopped with
     * SIGTERM and started (a deployment); waits until every partition had a new prediction before
     * the next.
     *
     * @return the report, with the recovery time of each restart
     * @throws Exception when a process cannot be started
     */
    public Report restart() throws Exception {
        return restart(1);
    }

    /**
     * {@link #restart()} on a single broker or a cluster.
     *
     * @param brokers 1, or 3 (replication 3, {@code min.insync.replicas} 2)
     * @return the report, with the recovery time of each restart
     * @throws Exception when a process cannot be started
     */
    public Report restart(final int brokers) throws Exception {
        try (Scenario s = new Scenario(brokers == 1 ? "restart" : "restart-" + brokers, true, brokers)) {
            final Random random = new Random(settings.seed());
            final ChildProcess processor = s.processor(0, List.of()).start();
            s.awaitRunning(processor, 0);
            s.startProducing(settings.ratePerSecond());
            for (int kill = 1; kill <= settings.kills() && s.producer.isAlive(); kill++) {
                Thread.sleep(2_000 + random.nextInt(2_000));
                long at = System.currentTimeMillis();
                final String what;
                switch (kill % 3) {
                    case 1 -> {
                        processor.kill();
                        what = "restart (SIGKILL, state directory kept)";
                    }
                    case 2 -> {
                        processor.kill();
                        deleteTree(s.dir.resolve("state-0"));
                        what = "replacement (SIGKILL, empty state directory)";
                    }
                    default -> {
                        processor.stop(Duration.ofSeconds(60));
                        // From the moment it exited: a clean stop commits what it computed on the way out.
                        at = System.currentTimeMillis();
                        what = "clean restart (SIGTERM, then start)";
                    }
                }
                processor.start();
                s.fault(what + " after " + s.sent.get(), at);
                s.awaitRecovered(at, Duration.ofSeconds(120));
            }
            return s.finish(List.of(processor));
        }
    }

    /**
     * A cluster of three brokers (replication 3, {@code min.insync.replicas} 2) under one processor that
     * follows a models topic: the leader of a request partition SIGKILLed and restarted; a broker down
     * while the processor is SIGKILLed and restarted, with a new model version published between the
     * two kills; then a rolling restart of all three brokers (SIGTERM, start, wait until every
     * partition is fully replicated again, next). Requests arrive at the settings' rate until the
     * last fault is over (the settings' request count does not apply).
     *
     * @return the report
     * @throws Exception when a process cannot be started
     */
    public Report cluster() throws Exception {
        try (Scenario s = new Scenario("cluster", true, 3);
                Admin admin = Admin.create(Map.of("bootstrap.servers", s.bootstrap()))) {
            final ChildProcess processor = s.processor(0, List.of(), s.followModels()).start();
            s.awaitRunning(processor, 0);
            // Requests keep coming until the last fault is over, however long the faults take on a busy machine.
            s.requests = Integer.MAX_VALUE;
            s.startProducing(settings.ratePerSecond());
            Thread.sleep(3_000);
            s.killLeader(admin);
            s.restartWhileABrokerIsDown(admin, processor, 1);
            s.rollingRestart(admin);
            Thread.sleep(5_000);
            s.stopProducing = true;
            return s.finish(List.of(processor));
        }
    }

    /**
     * What {@code soak --minutes N} runs: three brokers, two processors (one watched, never killed; the
     * other killed in the faults), requests at a steady rate (half the capacity measured first unless
     * given), and every {@code faultEvery} the next of: the leader of a request partition killed and
     * restarted; the second processor SIGKILLed and restarted; a new model version published; the
     * second processor restarted while a broker is down; a rolling restart of the brokers. The
     * watched processor's memory is sampled every minute.
     *
     * @param length how long requests stream in
     * @param faultEvery the time between faults
     * @param faultKinds the faults to cycle through, in this order ({@link LongRunFault#ALL} for every kind)
     * @param rate requests per second; 0 measures the capacity first and uses half of it
     * @param bounds growth bounds of the memory series
     * @param warmupMinutes samples before this minute are left out of the fits
     * @return the report, the rate used and the memory verdict
     * @throws Exception when a process cannot be started
     */
    public LongRun longRun(final Duration length, final Duration faultEvery, final List<LongRunFault> faultKinds,
            final double rate, final MemorySeries.Bounds bounds, final double warmupMinutes) throws Exception {
        if (faultKinds.isEmpty()) {
            throw new IllegalArgumentException("no fault kinds to cycle through: give at least one of "
                    + LongRunFault.ALL);
        }
        final double capacity = rate > 0 ? Double.NaN : capacity();
        final double used = rate > 0 ? rate : capacity / 2;
        log.printf(Locale.ROOT, "steady rate %.1f requests/s%s for %.1f min, a fault every %.1f min%n", used,
                rate > 0 ? "" : String.format(Locale.ROOT, " (half the measured %.1f/s)", capacity),
                length.toSeconds() / 60.0, faultEvery.toSeconds() / 60.0);
        try (Scenario s = new Scenario("soak", true, 3);
                Admin admin = Admin.create(Map.of("bootstrap.servers", s.bootstrap()))) {
            s.requests = (int) Math.ceil(used * length.toSeconds());
            final Path gcLog = s.dir.resolve("processor-0-gc.log");
            final ChildProcess watched = s.processor(0, MemorySeries.jvmOptions(gcLog), s.followModels());
            final ChildProcess other = s.processor(1, List.of(), s.followModels());
            for (final ChildProcess p : List.of(watched, other)) {
                p.withEnvironment("MALLOC_ARENA_MAX", "2").start();
            }
            s.awaitRunning(watched, 0);
            s.awaitRunning(other, 0);
            final MemorySeries memory = new MemorySeries(watched, gcLog);
            s.startProducing(used);
            final long start = System.nanoTime();
            long nextSample = start;
            long nextFault = start + faultEvery.toNanos();
            int faultsDone = 0;
            int faultsLogged = 0;
            long seenBefore = 0;
            log.println("minute  RSS MB  heap after GC MB  open files  predicted/s  faults");
            while (s.producer.isAlive()) {
                final long now = System.nanoTime();
                if (now >= nextSample) {
                    final long seen = s.watch.count();
                    final List<String> recent = s.faults.subList(faultsLogged, s.faults.size());
                    final MemorySeries.Sample m = memory.sample(nextSample == start ? 0
                            : (seen - seenBefore) / 60.0, String.join("; ", recent));
                    faultsLogged = s.faults.size();
                    seenBefore = seen;
                    log.printf(Locale.ROOT, "%6.1f  %6.0f  %16.1f  %10d  %11.1f  %s%n", m.minute(), m.residentMb(),
                            m.heapAfterGcMb(), m.openFiles(), m.predictedPerSecond(), m.faults());
                    nextSample += 60_000_000_000L;
                } else if (now >= nextFault) {
                    switch (faultKinds.get(faultsDone++ % faultKinds.size())) {
                        case LEADER -> s.killLeader(admin);
                        case PROCESSOR -> s.restartProcessor(other);
                        case PUBLISH -> s.publishNewVersion(faultsDone);
                        case BROKER_DOWN -> s.restartWhileABrokerIsDown(admin, other, faultsDone);
                        case ROLLING -> s.rollingRestart(admin);
                    }
                    nextFault = System.nanoTime() + faultEvery.toNanos();
                } else {
                    Thread.sleep(Math.min(1_000, (Math.min(nextSample, nextFault) - now) / 1_000_000 + 1));
                }
            }
            final Report report = s.finish(List.of(watched, other));
            final MemorySeries.Verdict verdict = memory.verdict(warmupMinutes, bounds);
            MemorySeries.write(verdict, s.dir.resolve("memory.csv"), s.dir.resolve("memory.png"));
            log.println(verdict.toText());
            log.printf("memory series in %s, chart in %s%n", s.dir.resolve("memory.csv"), s.dir.resolve("memory.png"));
            return new LongRun(report, capacity, used, verdict);
        }
    }

    /** The faults of the long run, in the order it cycles through them by default. */
    public enum LongRunFault {
        /** The leader of request partition 0 SIGKILLed and restarted. */
        LEADER("leader"),
        /** The second processor SIGKILLed and restarted. */
        PROCESSOR("processor"),
        /** A new model version published to the models topic. */
        PUBLISH("publish"),
        /** A broker killed, a version published, the second processor restarted, the broker back. */
        BROKER_DOWN("broker-down"),
        /** The three brokers restarted one after the other (SIGTERM). */
        ROLLING("rolling");

        /** Every kind, in the default order. */
        public static final List<LongRunFault> ALL = List.of(values());

        private final String option;

        LongRunFault(final String option) {
            this.option = option;
        }

        /**
         * @param name a kind's name as the command line gives it
         * @return the kind
         * @throws IllegalArgumentException naming the kinds when there is none of that name
         */
        public static LongRunFault of(final String name) {
            for (final LongRunFault f : values()) {
                if (f.option.equals(name)) {
                    return f;
                }
            }
            throw new IllegalArgumentException("Unknown fault '" + name + "': use some of " + ALL);
        }

        @Override
        public String toString() {
            return option;
        }
    }

    /**
     * What a long run found.
     *
     * @param report requests and faults
     * @param capacity the measured capacity, requests/s (NaN when the rate was given)
     * @param rate the steady rate used
     * @param memory the watched processor's memory series and its verdict
     */
    public record LongRun(Report report, double capacity, double rate, MemorySeries.Verdict memory) {

        /** @return nothing lost or duplicated, and memory flat */
        public boolean passed() {
            return report.exactlyOnce() && memory.flat();
        }
    }

    /**
     * Capacity of the long run's layout (three brokers, two processors): a burst of {@link
     * Settings#requests()} at full producer speed, predictions per second from the first to the last.
     */
    private double capacity() throws Exception {
        try (Scenario s = new Scenario("capacity", true, 3)) {
            final ChildProcess a = s.processor(0, List.of()).start();
            final ChildProcess b = s.processor(1, List.of()).start();
            s.awaitRunning(a, 0);
            s.awaitRunning(b, 0);
            s.startProducing(0);
            final Report r = s.finish(List.of(a, b));
            final double perSecond = s.watch.ratePerSecond();
            log.printf(Locale.ROOT, "capacity: %.1f predictions/s (%d requests, 3 brokers, 2 processors)%n", perSecond,
                    r.produced());
            return perSecond;
        }
    }

    /** Copies a model directory with config.json rewritten (same content, {@code n} more lines): a new version. */
    private static void copyAsNewVersion(final Path from, final Path to, final int n) throws IOException {
        Files.createDirectories(to);
        try (var files = Files.list(from)) {
            for (final Path f : files.filter(Files::isRegularFile).toList()) {
                Files.copy(f, to.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        Files.writeString(to.resolve(ModelDirectory.CONFIG), "\n".repeat(n), StandardOpenOption.APPEND);
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
            s.broker(0).stop(Duration.ofSeconds(30));
            s.faults.add("broker down for " + settings.outage().toSeconds() + " s after " + s.sent.get());
            Thread.sleep(settings.outage().toMillis());
            s.startBroker(0);
            s.fault("broker back after its outage");
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
            s.fault("instance 1 of 2 SIGKILL after " + s.sent.get() + ", not restarted");
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

    /** One scenario's brokers, processors, producer and reader. */
    private final class Scenario implements AutoCloseable {
        private final String name;
        private final boolean exactlyOnce;
        private final Path dir;
        private final List<Integer> ports = new ArrayList<>();
        private final String topic;
        private final List<ChildProcess> brokers = new ArrayList<>();
        private final List<ChildProcess> processors = new ArrayList<>();
        private final List<String> faults = new ArrayList<>();
        /** Faults that stop the output, with when they happened (wall clock, ms). */
        private final Map<String, Long> timedFaults = new LinkedHashMap<>();
        private final OutputWatch watch;
        /** Requests handed to the producer so far: where the faults landed. */
        private final AtomicLong sent = new AtomicLong();
        /** Requests the broker acknowledged, known once producing ended. */
        private final AtomicLong acknowledged = new AtomicLong();
        private int requests = settings.requests();
        /** Ends the requests early: the producer sends no more once it is set. */
        private volatile boolean stopProducing;
        private final AtomicReference<Exception> producerFailure = new AtomicReference<>();
        private Thread producer;
        private long startNanos;
        private double peakResidentMb;

        Scenario(final String name, final boolean exactlyOnce) throws Exception {
            this(name, exactlyOnce, 1);
        }

        /** @param brokerCount 1: a single node; 3: a cluster with replication 3, min.insync.replicas 2 */
        Scenario(final String name, final boolean exactlyOnce, final int brokerCount) throws Exception {
            this.name = name;
            this.exactlyOnce = exactlyOnce;
            this.dir = settings.work().resolve(name);
            this.topic = name + "-requests";
            final List<String> voters = new ArrayList<>();
            for (int n = 0; n < brokerCount; n++) {
                ports.add(EmbeddedKafka.freePort());
                voters.add((n + 1) + "@localhost:" + EmbeddedKafka.freePort());
            }
            for (int n = 0; n < brokerCount; n++) {
                final List<String> args = new ArrayList<>(List.of("broker", "--port", Integer.toString(ports.get(n)),
                        "--data-dir", dir.resolve(brokerCount == 1 ? "kafka" : "kafka-" + (n + 1)).toString()));
                if (brokerCount > 1) {
                    args.addAll(List.of("--node-id", Integer.toString(n + 1), "--voters", String.join(",", voters)));
                }
                brokers.add(new ChildProcess("broker " + (n + 1), List.of("-Xmx512m"), args,
                        dir.resolve(brokerCount == 1 ? "broker.log" : "broker-" + (n + 1) + ".log")));
            }
            log.printf("== %s (%s): %s on %s, logs in %s%n", name, guarantee(),
                    brokerCount == 1 ? "broker" : brokerCount + " brokers", bootstrap(), dir);
            for (final ChildProcess b : brokers) {
                b.start();
            }
            for (final ChildProcess b : brokers) {
                b.await("Kafka broker running on", 1, Duration.ofSeconds(180));
            }
            try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap()))) {
                admin.createTopics(List.of(new NewTopic(topic, PARTITIONS, (short) Math.min(3, brokerCount))))
                        .all().get();
            }
            watch = new OutputWatch(bootstrap(), name + "-latency", PARTITIONS);
        }

        /** Notes a fault that stops the output, as of now. */
        void fault(final String description) {
            fault(description, System.currentTimeMillis());
        }

        void fault(final String description, final long atMs) {
            faults.add(description);
            timedFaults.put(description, atMs);
        }

        /** @return the processor arguments that make it follow this scenario's models topic */
        List<String> followModels() {
            return List.of("-p", "streamformer.topic.models=" + name + "-models",
                    "-p", "streamformer.models.cache.dir=" + dir.resolve("models-cache"));
        }

        /** Kills the leader of the request topic's partition 0, restarts it 3 s later, waits for its replicas. */
        void killLeader(final Admin admin) throws Exception {
            final int leader = leaderOfPartitionZero(admin);
            broker(leader - 1).kill();
            fault("node " + leader + " (leader of " + topic + "-0) SIGKILL after " + sent.get());
            Thread.sleep(3_000);
            startBroker(leader - 1);
            awaitFullyReplicated(admin);
        }

        /** @return the node id of the leader of the request topic's partition 0 */
        int leaderOfPartitionZero(final Admin admin) throws Exception {
            return admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions().get(0).leader()
                    .id();
        }

        /** SIGKILLs a processor and starts it again at once. */
        void restartProcessor(final ChildProcess processor) throws Exception {
            final long before = processor.count("-> RUNNING");
            processor.kill();
            fault(processor.name() + " SIGKILL + restart after " + sent.get());
            processor.start();
            awaitRunning(processor, before);
        }

        /** Publishes the scenario's model again as a new version (config.json with {@code n} more lines). */
        void publishNewVersion(final int n) throws Exception {
            final Path next = dir.resolve("model-v" + n);
            copyAsNewVersion(settings.modelDir(), next, n);
            // The name the processor serves the model directory under: its directory's name.
            final String served = settings.modelDir().toAbsolutePath().normalize().getFileName().toString();
            ModelReleases.publish(clientProperties(), name + "-models", next, served, ModelReleases.Rollout.REPLACE, 0,
                    null, 64 << 20);
            faults.add("model version " + ModelDirectory.version(next) + " published after " + sent.get());
        }

        /**
         * Kills a broker (not the request partition 0 leader's successor), publishes a new model version,
         * SIGKILLs the processor and starts it again while the broker is down, then brings the broker back.
         */
        void restartWhileABrokerIsDown(final Admin admin, final ChildProcess processor, final int n) throws Exception {
            final int down = leaderOfPartitionZero(admin) % brokers.size();
            broker(down).kill();
            faults.add("node " + (down + 1) + " SIGKILL after " + sent.get());
            publishNewVersion(n);
            final long before = processor.count("-> RUNNING");
            processor.kill();
            fault(processor.name() + " SIGKILL while node " + (down + 1) + " is down, after " + sent.get());
            processor.start();
            awaitRunning(processor, before);
            awaitRecovered(System.currentTimeMillis() - 1, Duration.ofSeconds(60));
            startBroker(down);
            awaitFullyReplicated(admin);
        }

        /** Restarts every broker in turn (SIGTERM, start), each after the previous one's replicas caught up. */
        void rollingRestart(final Admin admin) throws Exception {
            for (int n = 0; n < brokers.size(); n++) {
                final long at = System.currentTimeMillis();
                broker(n).stop(Duration.ofSeconds(60));
                fault("rolling restart: node " + (n + 1) + " SIGTERM + start after " + sent.get(), at);
                startBroker(n);
                awaitFullyReplicated(admin);
            }
        }

        /** @return client properties for this scenario's brokers */
        Properties clientProperties() {
            final Properties p = new Properties();
            p.put("bootstrap.servers", bootstrap());
            return p;
        }

        /** Waits (up to 2 minutes) until every partition of every topic has all its replicas in sync. */
        void awaitFullyReplicated(final Admin admin) throws Exception {
            final long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
            while (System.nanoTime() < deadline) {
                try {
                    final var topics = admin.describeTopics(admin.listTopics(
                            new ListTopicsOptions().listInternal(true)).names().get())
                            .allTopicNames().get();
                    if (topics.values().stream().flatMap(t -> t.partitions().stream())
                            .allMatch(p -> p.isr().size() == p.replicas().size())) {
                        return;
                    }
                } catch (ExecutionException e) {
                    // a broker is still starting: ask again
                }
                Thread.sleep(500);
            }
            throw new IllegalStateException("partitions still under-replicated 2 minutes after a broker restart; see "
                    + dir);
        }

        /** Waits until every request partition had a prediction computed after the moment, or the timeout. */
        void awaitRecovered(final long atMs, final Duration timeout) throws InterruptedException {
            final long deadline = System.nanoTime() + timeout.toNanos();
            while (System.nanoTime() < deadline
                    && Double.isNaN(watch.recovery("", atMs).everyPartitionSeconds())) {
                Thread.sleep(200);
            }
        }

        String bootstrap() {
            return ports.stream().map(p -> "localhost:" + p).collect(joining(","));
        }

        /** @return the broker of node {@code n + 1} */
        ChildProcess broker(final int n) {
            return brokers.get(n);
        }

        String guarantee() {
            return exactlyOnce ? "exactly_once_v2" : "at_least_once";
        }

        void startBroker(final int n) throws Exception {
            final ChildProcess broker = brokers.get(n);
            final long before = broker.count("Kafka broker running on");
            broker.start();
            broker.await("Kafka broker running on", before + 1, Duration.ofSeconds(90));
        }

        ChildProcess processor(final int instance, final List<String> jvmOptions) {
            return processor(instance, jvmOptions, List.of());
        }

        ChildProcess processor(final int instance, final List<String> jvmOptions, final List<String> extraArgs) {
            final List<String> args = new ArrayList<>(List.of("run", "-b", bootstrap(), "--model",
                    settings.modelDir().toString(), "--application-id", name + "-processor", "--stream-threads", "2",
                    "--requests-topic", topic, "--predictions-topic", name + "-predictions", "--latency-topic",
                    name + "-latency", "--dead-letter-topic", name + "-dead-letters",
                    "-p", "state.dir=" + dir.resolve("state-" + instance),
                    // Batches of 8 whatever the default: the changelogged batch buffer is the path a kill can hurt.
                    "-p", "streamformer.batch.size=8",
                    "-p", "streamformer.batch.max.wait.ms=200",
                    "-p", "producer.transaction.timeout.ms=10000"));
            settings.processorProperties().forEach(kv -> args.addAll(List.of("-p", kv)));
            args.addAll(extraArgs);
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
                    return next < requests && !stopProducing;
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
            final Set<String> versions = new LinkedHashSet<>();
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
                            versions.add(e.getModelVersion());
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
            watch.close();
            final List<Recovery> recoveries = new ArrayList<>();
            timedFaults.forEach((fault, at) -> recoveries.add(watch.recovery(fault, at)));
            final Report report = new Report(name, guarantee(), total, predictionRecords, predictions.size(),
                    duplicates, total - predictions.size(), latencyRecords, deadLetters, instances.size(),
                    List.copyOf(versions), peakResidentMb, seconds, faults, recoveries, watch.longestGapSeconds());
            log.println(report.toLine());
            return report;
        }

        @Override
        public void close() throws Exception {
            watch.close();
            for (final ChildProcess p : processors) {
                if (p.alive()) {
                    p.stop(Duration.ofSeconds(40));
                }
            }
            for (final ChildProcess broker : brokers) {
                if (broker.alive()) {
                    broker.stop(Duration.ofSeconds(40));
                }
            }
        }
    }

    private static void deleteTree(final Path dir) throws IOException {
        if (Files.exists(dir)) {
            try (var paths = Files.walk(dir)) {
                for (final Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
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
