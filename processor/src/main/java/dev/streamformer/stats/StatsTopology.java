package dev.streamformer.stats;

import java.time.Duration;
import java.util.List;

import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Suppressed;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.streamformer.schemas.DeadLetter;
import dev.streamformer.schemas.LatencyEvent;
import dev.streamformer.schemas.serde.SingleObjectSerde;
import dev.streamformer.schemas.serde.StreamformerSerdes;
import dev.streamformer.stream.StreamformerAppConfig;
import dev.streamformer.stream.StreamformerConfig;

/**
 * The statistics topology: latency events and dead letters, grouped by model version (dead letters,
 * which belong to no version, under "*"), in tumbling windows of the requests' record time, each
 * window's accumulators merged over every partition and instance, and one {@code LatencyStats}
 * record per version and window written when the window closes (its end plus the grace for late
 * events has passed on the stream's clock).
 * <pre>
 *   latency (by request id) ----\
 *                                +--> key by version --> repartition --> 10 s windows --> suppress --> stats
 *   dead letters (by key) ------/                                     (HdrHistograms)   until close  (by version)
 * </pre>
 */
public final class StatsTopology {

    /** The version under which dead letters are counted. */
    public static final String ALL_VERSIONS = "*";
    private static final Logger LOG = LoggerFactory.getLogger(StatsTopology.class);
    private static final byte LATENCY = 'L';
    private static final byte DEAD_LETTER = 'D';

    private StatsTopology() {
    }

    /**
     * @param config topic names, window and grace
     * @return the topology
     */
    public static Topology build(final StreamformerAppConfig config) {
        final Duration window = Duration.ofMillis(config.getLong(StreamformerAppConfig.STATS_WINDOW_MS_CONFIG));
        final Duration grace = Duration.ofMillis(config.getLong(StreamformerAppConfig.STATS_GRACE_MS_CONFIG));
        final SingleObjectSerde<LatencyEvent> latencySerde = StreamformerSerdes.latencyEvent();
        final SingleObjectSerde<DeadLetter> deadLetterSerde = StreamformerSerdes.deadLetter();
        final StreamsBuilder builder = new StreamsBuilder();
        final KStream<String, byte[]> latency = builder.stream(config.latencyTopic(),
                Consumed.with(Serdes.String(), Serdes.ByteArray()).withName("latency-source"))
                .flatMap((key, value) -> {
                    try {
                        final LatencyEvent e = latencySerde.deserialize(config.latencyTopic(), value);
                        return List.of(KeyValue.pair(e.getModelVersion(), tagged(LATENCY, value)));
                    } catch (SerializationException | NullPointerException e) {
                        LOG.warn("Skipping an undecodable latency record: {}", e.getMessage());
                        return List.of();
                    }
                }, Named.as("latency-by-version"));
        final KStream<String, byte[]> deadLetters = builder.stream(config.deadLettersTopic(),
                Consumed.with(Serdes.ByteArray(), Serdes.ByteArray()).withName("dead-letter-source"))
                .map((key, value) -> KeyValue.pair(ALL_VERSIONS, tagged(DEAD_LETTER, value)),
                        Named.as("dead-letters-under-all"));
        final Serde<WindowAccumulator> accumulators = Serdes.serdeFrom(
                (topic, a) -> a == null ? null : a.toBytes(), (topic, b) -> b == null ? null : WindowAccumulator.fromBytes(b));
        latency.merge(deadLetters, Named.as("latency-and-dead-letters"))
                .groupByKey(Grouped.with("by-version", Serdes.String(), Serdes.ByteArray()))
                .windowedBy(TimeWindows.ofSizeAndGrace(window, grace))
                .aggregate(WindowAccumulator::new, (version, value, acc) -> add(acc, value, latencySerde, deadLetterSerde,
                                config), Named.as("accumulate"),
                        Materialized.<String, WindowAccumulator, org.apache.kafka.streams.state.WindowStore<
                                org.apache.kafka.common.utils.Bytes, byte[]>>as("streamformer-stats-windows")
                                .withKeySerde(Serdes.String()).withValueSerde(accumulators))
                .suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded()).withName("until-closed"))
                .toStream(Named.as("closed-windows"))
                .map((w, acc) -> KeyValue.pair(w.key(), acc.toStats(w.key(), w.window().start(), w.window().end())),
                        Named.as("to-stats"))
                .to(config.getString(StreamformerAppConfig.TOPIC_STATS_CONFIG),
                        Produced.with(Serdes.String(), StreamformerSerdes.latencyStats()).withName("stats-sink"));
        return builder.build();
    }

    private static byte[] tagged(final byte tag, final byte[] value) {
        final byte[] out = new byte[value.length + 1];
        out[0] = tag;
        System.arraycopy(value, 0, out, 1, value.length);
        return out;
    }

    private static WindowAccumulator add(final WindowAccumulator acc, final byte[] tagged,
            final SingleObjectSerde<LatencyEvent> latency, final SingleObjectSerde<DeadLetter> deadLetters,
            final StreamformerAppConfig config) {
        final byte[] value = java.util.Arrays.copyOfRange(tagged, 1, tagged.length);
        try {
            if (tagged[0] == LATENCY) {
                return acc.add(latency.deserialize(config.latencyTopic(), value));
            }
            return acc.addDeadLetter(deadLetters.deserialize(config.deadLettersTopic(), value).getErrorKind());
        } catch (SerializationException e) {
            LOG.warn("Skipping an undecodable record: {}", e.getMessage());
            return acc;
        }
    }
}
