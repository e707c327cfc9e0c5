package dev.streamformer.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

import dev.streamformer.fault.FaultSuite;
import dev.streamformer.fault.MemorySeries;
import dev.streamformer.model.DefaultModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code streamformer soak}: the long fault-injection run. */
@Command(name = "soak",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {"Fault injection with the brokers and the processors as separate processes.",
            "Without --scenarios: one run of --minutes on three brokers (replication 3, min.insync.replicas 2) and"
                + " two processors, requests at a steady rate (half the capacity it measures first, unless --rate),"
                + " and every --fault-every-minutes the next of (--faults chooses): the leader of a request partition SIGKILLed and"
                + " restarted; the second processor SIGKILLed and restarted; a new model version published; the"
                + " second processor restarted while a broker is down; a rolling restart of the brokers. Every minute"
                + " it prints the first processor's resident memory, heap after a full GC and open files; at the end"
                + " the fitted slope of each (after --warmup-minutes) against its bound, GC pause percentiles, and"
                + " memory.csv + memory.png in the work directory. Exits 1 if a request was lost or duplicated or a"
                + " series grew faster than its bound.",
            "With --scenarios: rounds of these until --minutes have passed (the first round always runs whole):",
            "  crash      processor SIGKILLed --kills times at random moments and restarted, the broker SIGKILLed"
                + " and restarted once (exactly_once_v2: every request exactly once)",
            "  crash-alo  the same under at_least_once (nothing lost; duplicates counted)",
            "  restart    processor stopped --kills times and started again at once, in turn: SIGKILL with its"
                + " state directory kept, SIGKILL with an empty one (a replacement), SIGTERM (a clean restart); each"
                + " waits for the output to come back",
            "  restart-3  the same on three brokers",
            "  scale-out  two instances, one SIGKILLed; the other takes over its partitions",
            "  cluster    three brokers: the leader of a request partition SIGKILLed and restarted, the processor"
                + " SIGKILLed while a broker is down with a new model version published between the kills, a rolling"
                + " restart of the three brokers",
            "  outage     the broker stopped for --outage-seconds while the processor runs, never restarted",
            "  overload   a burst of 5 x --requests at full producer speed against a processor with a 256 MB heap",
            "  (all: crash,crash-alo,restart,restart-3,scale-out,cluster,outage,overload)",
            "Every run prints produced, predictions, duplicates, missing, dead letters, the longest gap in the output"
                + " and, per fault, the seconds from the fault to the first prediction a read_committed consumer saw"
                + " and until every request partition had one. Exits 1 if an exactly-once run lost or duplicated a"
                + " request or an at-least-once run lost one."})
final class SoakCommand implements Callable<Integer> {

    @Option(names = "--minutes", defaultValue = "60",
            description = "How long requests stream in (with --scenarios: start new rounds until this long has"
                    + " passed) (default: ${DEFAULT-VALUE}).")
    private double minutes;

    @Option(names = "--scenarios", split = ",", paramLabel = "<scenario>",
            description = "Run rounds of these scenarios instead of one long run.")
    private List<String> scenarios = new ArrayList<>();

    @Option(names = "--model", paramLabel = "<dir>", description = "Model the processors serve (default: the shipped model).")
    private Path model;

    @Option(names = "--rate", paramLabel = "<per second>",
            description = "Requests per second (default: half the measured capacity for the long run, 20 for"
                    + " scenarios).")
    private Double rate;

    @Option(names = "--fault-every-minutes", defaultValue = "5",
            description = "Long run: minutes between faults (default: ${DEFAULT-VALUE}).")
    private double faultEveryMinutes;

    @Option(names = "--faults", split = ",", paramLabel = "<fault>", defaultValue = "leader,processor,publish,broker-down,rolling",
            description = "Long run: the faults to cycle through, in this order, from leader (the leader of a request"
                    + " partition SIGKILLed and restarted), processor (the second processor SIGKILLed and restarted),"
                    + " publish (a new model version), broker-down (the second processor restarted while a broker is down,"
                    + " a version published meanwhile), rolling (the brokers restarted one by one); e.g. --faults publish"
                    + " --fault-every-minutes 1 swaps the model every minute (default: ${DEFAULT-VALUE}).")
    private List<String> faults = new ArrayList<>();

    @Option(names = "--warmup-minutes", defaultValue = "10",
            description = "Long run: memory samples before this minute are left out of the fitted slopes (default:"
                    + " ${DEFAULT-VALUE}).")
    private double warmupMinutes;

    @Option(names = "--max-rss-slope", defaultValue = "1.0",
            description = "Long run: the most resident memory may grow, MB per minute (default: ${DEFAULT-VALUE}).")
    private double maxRssSlope;

    @Option(names = "--max-heap-slope", defaultValue = "0.5",
            description = "Long run: the most the heap after a full GC may grow, MB per minute (default:"
                    + " ${DEFAULT-VALUE}).")
    private double maxHeapSlope;

    @Option(names = "--max-files-slope", defaultValue = "0.2",
            description = "Long run: the most open file descriptors may grow per minute (default: ${DEFAULT-VALUE}).")
    private double maxFilesSlope;

    @Option(names = "--requests", defaultValue = "3000",
            description = "Requests per scenario; for the long run, the burst that measures the capacity (default:"
                    + " ${DEFAULT-VALUE}).")
    private int requests;

    @Option(names = "--kills", defaultValue = "6", description = "Processor kills per crash and restart scenario (default: ${DEFAULT-VALUE}).")
    private int kills;

    @Option(names = "--outage-seconds", defaultValue = "30", description = "Broker outage (default: ${DEFAULT-VALUE}).")
    private int outageSeconds;

    @Option(names = "--work", paramLabel = "<dir>", description = "Scratch directory for broker data, state and logs (default: a new temporary directory, kept).")
    private Path work;

    @Option(names = {"-p", "--processor-property"}, paramLabel = "<key=value>",
            description = "A setting every processor gets on top of its defaults, repeatable (to compare settings, e.g."
                    + " `-p group.instance.id=` turns static membership off).")
    private List<String> processorProperties = new ArrayList<>();

    @Option(names = "--seed", defaultValue = "1", description = "Seed of the first round; each round adds 1 (default: ${DEFAULT-VALUE}).")
    private long seed;

    private static final List<String> SCENARIOS = List.of("crash", "crash-alo", "restart", "restart-3", "scale-out",
            "cluster", "outage", "overload");

    @Override
    public Integer call() throws Exception {
        for (final String s : scenarios) {
            if (!SCENARIOS.contains(s)) {
                throw new IllegalArgumentException("Unknown scenario '" + s + "': use one of " + SCENARIOS);
            }
        }
        final Path root = work != null ? work : Files.createTempDirectory("streamformer-soak-");
        final Path modelDir = model != null ? model : DefaultModel.directory();
        return scenarios.isEmpty() ? longRun(root, modelDir) : rounds(root, modelDir);
    }

    private int longRun(final Path root, final Path modelDir) throws Exception {
        System.out.printf("Long run, logs in %s%n", root);
        final FaultSuite suite = new FaultSuite(new FaultSuite.Settings(root, modelDir, requests, 0, 1,
                Duration.ofSeconds(outageSeconds), seed, processorProperties), System.out);
        final FaultSuite.LongRun run = suite.longRun(Duration.ofSeconds(Math.round(minutes * 60)),
                Duration.ofSeconds(Math.round(faultEveryMinutes * 60)),
                faults.stream().map(FaultSuite.LongRunFault::of).toList(), rate == null ? 0 : rate,
                new MemorySeries.Bounds(maxRssSlope, maxHeapSlope, maxFilesSlope), warmupMinutes);
        System.out.printf("%n%s%n", run.passed() ? "PASSED: every request exactly once, memory flat"
                : "FAILED: " + (run.report().exactlyOnce() ? "" : "a request was lost or duplicated; ")
                        + (run.memory().flat() ? "" : "a memory series grew faster than its bound"));
        return run.passed() ? 0 : 1;
    }

    private int rounds(final Path root, final Path modelDir) throws Exception {
        final long end = System.nanoTime() + (long) (minutes * 60e9);
        final List<FaultSuite.Report> reports = new ArrayList<>();
        boolean ok = true;
        for (int round = 0; round == 0 || System.nanoTime() < end; round++) {
            System.out.printf("--- round %d (logs in %s)%n", round + 1, root.resolve("round-" + (round + 1)));
            final FaultSuite suite = new FaultSuite(new FaultSuite.Settings(root.resolve("round-" + (round + 1)),
                    modelDir, requests, rate == null ? 20 : rate, kills, Duration.ofSeconds(outageSeconds),
                    seed + round, processorProperties), System.out);
            for (final String s : scenarios) {
                final FaultSuite.Report r = switch (s) {
                    case "crash" -> suite.crash(true);
                    case "crash-alo" -> suite.crash(false);
                    case "restart" -> suite.restart();
                    case "restart-3" -> suite.restart(3);
                    case "scale-out" -> suite.scaleOut();
                    case "cluster" -> suite.cluster();
                    case "outage" -> suite.brokerOutage();
                    default -> suite.overload();
                };
                reports.add(r);
                ok &= "at_least_once".equals(r.guarantee()) ? r.missing() == 0 : r.exactlyOnce();
            }
        }
        FaultSuite.write(reports, root.resolve("soak-report.txt"));
        System.out.printf(Locale.ROOT, "%n%d scenario runs, %s; report in %s%n", reports.size(),
                ok ? "every request accounted for" : "FAILED: a request was lost or duplicated",
                root.resolve("soak-report.txt"));
        return ok ? 0 : 1;
    }
}
