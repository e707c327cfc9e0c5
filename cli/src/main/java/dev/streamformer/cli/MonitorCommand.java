package dev.streamformer.cli;

import java.time.Duration;
import java.time.LocalTime;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

import dev.streamformer.monitor.LatencySummary;
import dev.streamformer.monitor.SlidingWindow;
import dev.streamformer.schemas.LatencyEvent;
import dev.streamformer.schemas.serde.SingleObjectSerde;
import dev.streamformer.schemas.serde.StreamformerSerdes;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code streamformer monitor}. */
@Command(name = "monitor",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {"Watch the latency topic: every interval, print records/s and p50/p95/p99/max of each duration"
                + " over a sliding window, per model version.",
            "Durations: queueing (in Kafka before the processor), batch_wait, inference, processing (received to handed"
                + " to Kafka), end_to_end (record timestamp to handed to Kafka)."})
final class MonitorCommand implements Callable<Integer> {

    @Mixin
    private KafkaOptions kafka;

    @Option(names = "--window", defaultValue = "10", paramLabel = "<seconds>",
            description = "Sliding window length (default: ${DEFAULT-VALUE}).")
    private int window;

    @Option(names = "--interval", defaultValue = "1", paramLabel = "<seconds>",
            description = "Seconds between reports (default: ${DEFAULT-VALUE}).")
    private int interval;

    @Option(names = "--from-beginning", description = "Also read the events already in the topic.")
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
        final String topic = TopicKind.LATENCY.topic(all);
        final Properties p = KafkaOptions.reader(all, "streamformer-monitor-", fromBeginning);
        final SingleObjectSerde<LatencyEvent> serde = StreamformerSerdes.latencyEvent();
        final SlidingWindow events = new SlidingWindow(window);
        final long end = duration > 0 ? System.currentTimeMillis() + duration * 1000L : Long.MAX_VALUE;
        long nextReport = System.currentTimeMillis() + interval * 1000L;
        System.out.printf("watching %s on %s: window %d s, report every %d s%n", topic, all.get("bootstrap.servers"),
                window, interval);
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(p, new StringDeserializer(),
                new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(topic));
            while (System.currentTimeMillis() < end) {
                for (final ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    try {
                        events.add(serde.deserialize(topic, r.value()), System.currentTimeMillis());
                    } catch (SerializationException e) {
                        System.err.printf("skipping undecodable latency record at %d/%d: %s%n", r.partition(),
                                r.offset(), e.getMessage());
                    }
                }
                if (System.currentTimeMillis() >= nextReport) {
                    report(events.snapshot(System.currentTimeMillis()));
                    nextReport += interval * 1000L;
                }
            }
        }
        return 0;
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
