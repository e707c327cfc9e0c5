package dev.streamformer.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

import dev.streamformer.fault.FaultSuite;
import dev.streamformer.model.DefaultModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code streamformer soak}: the long fault-injection run. */
@Command(name = "soak",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {"Fault injection with the broker and the processors as separate processes, repeated until"
                + " --minutes have passed. Scenarios:",
            "  crash      processor SIGKILLed --kills times at random moments and restarted, the broker SIGKILLed"
                + " and restarted once (exactly_once_v2: every request exactly once)",
            "  crash-alo  the same under at_least_once (nothing lost; duplicates counted)",
            "  restart    processor SIGKILLed --kills times and started again at once, in turn with its state"
                + " directory and with an empty one (a replacement); each waits for the output to come back",
            "  scale-out  two instances, one SIGKILLed; the other takes over its partitions",
            "  cluster    three brokers (replication 3, min.insync.replicas 2): the leader of a request partition"
                + " SIGKILLed and restarted, the processor SIGKILLed while a broker is down with a new model version"
                + " published between the kills, a rolling restart of the three brokers",
            "  outage     the broker stopped for --outage-seconds while the processor runs, never restarted",
            "  overload   a burst of 5 x --requests at full producer speed against a processor with a 256 MB heap",
            "Prints one line per scenario run (produced, predictions, duplicates, missing, dead letters, the longest"
                + " gap in the output) and, per fault, the seconds from the fault to the first prediction a"
                + " read_committed consumer saw and until every request partition had one. Exits 1 if any exactly-once"
                + " run lost or duplicated a request or any at-least-once run lost one."})
final class SoakCommand implements Callable<Integer> {

    @Option(names = "--minutes", defaultValue = "30",
            description = "Start new rounds until this long has passed; the first round always runs whole"
                    + " (default: ${DEFAULT-VALUE}).")
    private double minutes;

    @Option(names = "--scenarios", split = ",", defaultValue = "crash,crash-alo,restart,scale-out,cluster,outage,overload",
            description = "Scenarios of each round (default: ${DEFAULT-VALUE}).")
    private List<String> scenarios;

    @Option(names = "--model", paramLabel = "<dir>", description = "Model the processors serve (default: the shipped model).")
    private Path model;

    @Option(names = "--requests", defaultValue = "3000", description = "Requests per scenario (default: ${DEFAULT-VALUE}).")
    private int requests;

    @Option(names = "--rate", defaultValue = "20", description = "Requests per second while faults happen (default: ${DEFAULT-VALUE}).")
    private double rate;

    @Option(names = "--kills", defaultValue = "6", description = "Processor kills per crash scenario (default: ${DEFAULT-VALUE}).")
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

    private static final List<String> SCENARIOS = List.of("crash", "crash-alo", "restart", "scale-out", "cluster",
            "outage", "overload");

    @Override
    public Integer call() throws Exception {
        for (final String s : scenarios) {
            if (!SCENARIOS.contains(s)) {
                throw new IllegalArgumentException("Unknown scenario '" + s + "': use one of " + SCENARIOS);
            }
        }
        final Path root = work != null ? work : Files.createTempDirectory("streamformer-soak-");
        final Path modelDir = model != null ? model : DefaultModel.directory();
        final long end = System.nanoTime() + (long) (minutes * 60e9);
        final List<FaultSuite.Report> reports = new ArrayList<>();
        boolean ok = true;
        for (int round = 0; round == 0 || System.nanoTime() < end; round++) {
            System.out.printf("--- round %d (logs in %s)%n", round + 1, root.resolve("round-" + (round + 1)));
            final FaultSuite suite = new FaultSuite(new FaultSuite.Settings(root.resolve("round-" + (round + 1)),
                    modelDir, requests, rate, kills, Duration.ofSeconds(outageSeconds), seed + round,
                    processorProperties), System.out);
            for (final String s : scenarios) {
                final FaultSuite.Report r = switch (s) {
                    case "crash" -> suite.crash(true);
                    case "crash-alo" -> suite.crash(false);
                    case "restart" -> suite.restart();
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
