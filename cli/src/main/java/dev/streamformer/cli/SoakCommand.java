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
            "  scale-out  two instances, one SIGKILLed; the other takes over its partitions",
            "  outage     the broker stopped for --outage-seconds while the processor runs, never restarted",
            "  overload   a burst of 5 x --requests at full producer speed against a processor with a 256 MB heap",
            "Prints one line per scenario run (produced, predictions, duplicates, missing, dead letters) and exits 1"
                + " if any exactly-once run lost or duplicated a request or any at-least-once run lost one."})
final class SoakCommand implements Callable<Integer> {

    @Option(names = "--minutes", defaultValue = "30",
            description = "Start new rounds until this long has passed; the first round always runs whole"
                    + " (default: ${DEFAULT-VALUE}).")
    private double minutes;

    @Option(names = "--scenarios", split = ",", defaultValue = "crash,crash-alo,scale-out,outage,overload",
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

    @Option(names = "--seed", defaultValue = "1", description = "Seed of the first round; each round adds 1 (default: ${DEFAULT-VALUE}).")
    private long seed;

    @Override
    public Integer call() throws Exception {
        for (final String s : scenarios) {
            if (!List.of("crash", "crash-alo", "scale-out", "outage", "overload").contains(s)) {
                throw new IllegalArgumentException("Unknown scenario '" + s + "': use crash, crash-alo, scale-out, outage"
                        + " or overload");
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
                    modelDir, requests, rate, kills, Duration.ofSeconds(outageSeconds), seed + round), System.out);
            for (final String s : scenarios) {
                final FaultSuite.Report r = switch (s) {
                    case "crash" -> suite.crash(true);
                    case "crash-alo" -> suite.crash(false);
                    case "scale-out" -> suite.scaleOut();
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
