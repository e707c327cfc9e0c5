package dev.streamformer.cli;

import java.time.Duration;
import java.time.LocalTime;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.function.Consumer;

import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

import dev.streamformer.monitor.LatencySummary;
import dev.streamformer.monitor.SlidingWindow;
import dev.streamformer.schemas.DurationStats;
import dev.streamformer.schemas.LatencyStats;
import dev.streamformer.schemas.serde.SingleObjectSerde;
import dev.streamformer.schemas.serde.StreamformerSerdes;
import dev.streamformer.stats.StatsTopology;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code streamformer monitor}. */
@Command(name = "monitor",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {"Watch latency: by default, print each window of the statistics topic that `streamformer stats`"
                + " writes (per model version: records/s, p50/p95/p99/max of each duration, batch sizes, dead letters),"
                + " and say so when none arrive; with --events, read the latency events themselves and print records/s"
                + " and percentiles over a sliding window every --interval.",
            "Durations: queueing (in Kafka before the processor), batch_wait, inference, processing (received to handed"
                + " to Kafka), end_to_end (record timestamp to handed to Kafka)."})
final class MonitorCommand implements Callable<Integer> {

    @Mixin
    private KafkaOptions kafka;

    @Option(names = "--events", description = "Read the latency events and summarise them here, instead of the"
            + " statistics topic.")
    private boolean fromEvents;

    @Option(names = "--quiet-warning", defaultValue = "30", paramLabel = "<seconds>",
            description = "Statistics mode: say so when no statistics arrived for this long (default: ${DEFAULT-VALUE}).")
    private int quietWarning;

    @Option(names = "--window", defaultValue = "10", paramLabel = "<seconds>",
            description = "--events: sliding window length (default: ${DEFAULT-VALUE}).")
    private int window;

    @Option(names = "--interval", defaultValue = "1", paramLabel = "<seconds>",
            description = "--events: seconds between reports (default: ${DEFAULT-VALUE}).")
    private int interval;

    @Option(names = "--from-beginning", description = "Also read the statistics (or events) already in the topic.")
    private boolean fromBeginning;

    @Option(names = "--duration", defaultValue = "0", paramLabel = "<seconds>",
            description = "Stop after this many seconds; 0 = until Ctrl-C (default: ${DEFAULT-VALUE}).")
    private int duration;

    @Override
    public Integer call() throws Exception {
        if (window < 1 || interval < 1) {
            throw new IllegalArgumentException("--window and --interval must be at least 1 second");
        }
        final Properties all = kafka.connect();
        if (!fromEvents) {
            return watchStatistics(all);
        }
        final String topic = TopicKind.LATENCY.topic(all);
        final SlidingWindow events = new SlidingWindow(window);
        final long[] nextReport = {System.currentTimeMillis() + interval * 1000L};
        System.out.printf("watching %s on %s: window %d s, report every %d s%n", topic, all.get("bootstrap.servers"),
                window, interval);
        read(all, topic, StreamformerSerdes.latencyEvent(), "latency", e -> events.add(e, System.currentTimeMillis()),
                () -> {
                    if (System.currentTimeMillis() >= nextReport[0]) {
                        report(events.snapshot(System.currentTimeMillis()));
                        nextReport[0] += interval * 1000L;
                    }
                });
        return 0;
    }

    private int watchStatistics(final Properties all) {
        final String topic = TopicKind.STATS.topic(all);
        final long[] lastSeen = {System.currentTimeMillis()};
        System.out.printf("watching %s on %s (written by `streamformer stats`; --events reads latency events instead)%n",
                topic, all.get("bootstrap.servers"));
        read(all, topic, StreamformerSerdes.latencyStats(), "statistics", s -> {
            System.out.print(render(s));
            lastSeen[0] = System.currentTimeMillis();
        }, () -> {
            if (System.currentTimeMillis() - lastSeen[0] >= quietWarning * 1000L) {
                System.out.printf("%s  no statistics on %s for %d s: is `streamformer stats -b %s` running, and are"
                        + " requests being served? (`monitor --events` reads the latency events directly)%n",
                        LocalTime.now().truncatedTo(ChronoUnit.SECONDS), topic, quietWarning, all.get("bootstrap.servers"));
                lastSeen[0] = System.currentTimeMillis();
            }
            System.out.flush();
        });
        return 0;
    }

    /**
     * Reads a topic until --duration ends: each decodable value to {@code each}, undecodable ones
     * reported and skipped, {@code tick} after every poll.
     */
    private <T extends SpecificRecord> void read(final Properties all, final String topic, final SingleObjectSerde<T> serde,
            final String what, final Consumer<T> each, final Runnable tick) {
        final Properties p = KafkaOptions.reader(all, "streamformer-monitor-", fromBeginning);
        final long end = duration > 0 ? System.currentTimeMillis() + duration * 1000L : Long.MAX_VALUE;
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(p, new StringDeserializer(),
                new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(topic));
            while (System.currentTimeMillis() < end) {
                for (final ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    try {
                        each.accept(serde.deserialize(topic, r.value()));
                    } catch (SerializationException e) {
                        System.err.printf("skipping undecodable %s record at %d/%d: %s%n", what, r.partition(),
                                r.offset(), e.getMessage());
                    }
                }
                tick.run();
            }
        }
    }

    /**
     * @param s one window's statistics
     * @return them as a heading line and a table of durations in ms
     */
    static String render(final LatencyStats s) {
        final StringBuilder out = new StringBuilder();
        final String window = LocalTime.ofInstant(s.getWindowStart(), java.time.ZoneId.systemDefault())
                .truncatedTo(ChronoUnit.SECONDS) + "-" + LocalTime.ofInstant(s.getWindowEnd(),
                java.time.ZoneId.systemDefault()).truncatedTo(ChronoUnit.SECONDS);
        if (StatsTopology.ALL_VERSIONS.equals(s.getModelVersion())) {
            return out.append(String.format(Locale.ROOT, "%s  dead letters %s%n", window, s.getDeadLetters())).toString();
        }
        out.append(String.format(Locale.ROOT, "%s  model %s: %.1f records/s (%d), batch mean %.1f max %d%n", window,
                s.getModelVersion(), s.getRecordsPerSecond(), s.getCount(), s.getBatchSizeMean(), s.getBatchSizeMax()));
        out.append(String.format(Locale.ROOT, "  %-11s %9s %9s %9s %9s  (ms, within %.0f %%)%n", "", "p50", "p95", "p99",
                "max", s.getRelativeError() * 100));
        final Map<String, DurationStats> rows = new java.util.LinkedHashMap<>();
        rows.put("queueing", s.getQueueing());
        rows.put("batch_wait", s.getBatchWait());
        rows.put("inference", s.getInference());
        rows.put("processing", s.getProcessing());
        rows.put("end_to_end", s.getEndToEnd());
        rows.forEach((name, d) -> out.append(String.format(Locale.ROOT, "  %-11s %9.2f %9.2f %9.2f %9.2f%n", name,
                d.getP50Us() / 1e3, d.getP95Us() / 1e3, d.getP99Us() / 1e3, d.getMaxUs() / 1e3)));
        return out.toString();
    }

    private void report(final Map<String, LatencySummary> byVersion) {
        final String now = LocalTime.now().truncatedTo(ChronoUnit.SECONDS).toString();
        if (byVersion.isEmpty()) {
            System.out.printf("%s  no latency events in the last %d s%n", now, window);
            return;
        }
        byVersion.forEach((version, s) -> {
            System.out.printf(Locale.ROOT, "%s  model %s: %.1f records/s over %d s (%d records)%n", now, version,
                    (double) s.count() / window, window, s.count());
            System.out.print(s.toTable());
        });
        System.out.flush();
    }
}
