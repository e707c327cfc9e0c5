package dev.streamformer.cli;

import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import dev.streamformer.stats.StatsApp;
import dev.streamformer.stream.StreamformerAppConfig;

/** {@code streamformer stats}. */
@Command(name = "stats",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {"Run the latency statistics application until Ctrl-C or SIGTERM: it reads every processor's latency"
                + " events and dead letters and writes, per model version and tumbling window, one LatencyStats record"
                + " (count, records/s, p50/p95/p99/max of each duration within 1 %%, batch sizes, dead letters by kind) to"
                + " the statistics topic, which `monitor` reads.",
            "Kafka Streams, exactly_once_v2, application id streamformer-stats (-p application.id=... to change);"
                + " a window is written when the requests' time passes its end + --grace."})
final class StatsCommand implements Callable<Integer> {

    @Mixin
    private KafkaOptions kafka;

    @Option(names = "--window", paramLabel = "<seconds>", defaultValue = "10",
            description = "Window length (default: ${DEFAULT-VALUE}).")
    private long windowSeconds;

    @Option(names = "--grace", paramLabel = "<seconds>", defaultValue = "5",
            description = "How long a window waits for late events (default: ${DEFAULT-VALUE}).")
    private long graceSeconds;

    @Override
    public Integer call() throws Exception {
        if (windowSeconds < 1 || graceSeconds < 0) {
            throw new IllegalArgumentException("--window must be at least 1 second and --grace at least 0");
        }
        final Properties all = kafka.properties();
        all.putIfAbsent(StreamformerAppConfig.STATS_WINDOW_MS_CONFIG, Long.toString(windowSeconds * 1000));
        all.putIfAbsent(StreamformerAppConfig.STATS_GRACE_MS_CONFIG, Long.toString(graceSeconds * 1000));
        final CountDownLatch done = new CountDownLatch(1);
        final StatsApp app = StatsApp.start(all);
        // The hook closes the application itself: the JVM exits when the hooks end, whatever main does.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            app.close();
            done.countDown();
        }, "streamformer-stats-shutdown"));
        System.err.printf("statistics running: windows of %d s, grace %d s; Ctrl-C to stop%n", windowSeconds,
                graceSeconds);
        done.await();
        return 0;
    }
}
