package dev.streamformer.stats;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.streamformer.kafka.internals.BrokerCheck;
import dev.streamformer.kafka.internals.TopicAdmin;
import dev.streamformer.model.DefaultModel;
import dev.streamformer.stream.StreamformerApp;
import dev.streamformer.stream.StreamformerAppConfig;
import dev.streamformer.stream.StreamformerConfig;

/**
 * {@code streamformer stats}: the statistics topology ({@link StatsTopology}) as an application of its
 * own, apart from the processors, so that one aggregation sees every processor's latency events and
 * scaling the processors never moves it; exactly_once_v2, like the processor.
 */
public final class StatsApp implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(StatsApp.class);
    private static final int LATE_REPORT_SECONDS = 10;

    private final KafkaStreams streams;

    private StatsApp(final KafkaStreams streams) {
        this.streams = streams;
    }

    /**
     * @return the defaults under the user's properties: application id streamformer-stats, exactly_once_v2,
     *     1 thread, state under $STREAMFORMER_CACHE/state
     */
    public static Properties defaults() {
        final Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, "streamformer-stats");
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, "1");
        p.put(StreamsConfig.STATE_DIR_CONFIG, DefaultModel.cacheRoot().resolve("state").toString());
        return p;
    }

    /**
     * Starts the statistics application; creates the statistics topic if it is missing (and topic
     * creation is on).
     *
     * @param userProps Kafka keys, and the streamformer.topic.* and streamformer.stats.* keys
     * @return the running application
     */
    public static StatsApp start(final Properties userProps) {
        final Properties all = defaults();
        all.putAll(userProps);
        final StreamformerAppConfig config = new StreamformerAppConfig(all);
        final Properties kafka = StreamformerConfig.kafkaOnly(all);
        BrokerCheck.await(kafka, Duration.ofMillis(config.getLong(StreamformerAppConfig.CONNECT_TIMEOUT_MS_CONFIG)));
        TopicAdmin.ensure(kafka, List.of(config.latencyTopic(), config.deadLettersTopic(),
                config.getString(StreamformerAppConfig.TOPIC_STATS_CONFIG)), new TopicAdmin.Spec(
                config.getInt(StreamformerAppConfig.TOPIC_PARTITIONS_CONFIG), config.getShort(StreamformerConfig.TOPIC_REPLICATION_CONFIG),
                config.getLong(StreamformerAppConfig.TOPIC_RETENTION_MS_CONFIG)), config.getBoolean(StreamformerConfig.TOPICS_CREATE_CONFIG));
        final KafkaStreams streams = new KafkaStreams(StatsTopology.build(config), kafka);
        streams.setUncaughtExceptionHandler(e -> {
            LOG.warn("Statistics thread failed; replacing it: {}", e.toString());
            return StreamThreadExceptionResponse.REPLACE_THREAD;
        });
        streams.start();
        final long grace = config.getLong(StreamformerAppConfig.STATS_GRACE_MS_CONFIG);
        final Thread late = new Thread(() -> reportLate(streams, grace), "streamformer-stats-late");
        late.setDaemon(true);
        late.start();
        LOG.info("Statistics {} started: {} + {} -> {}, windows of {} ms, grace {} ms",
                kafka.get(StreamsConfig.APPLICATION_ID_CONFIG), config.latencyTopic(), config.deadLettersTopic(),
                config.getString(StreamformerAppConfig.TOPIC_STATS_CONFIG), config.getLong(StreamformerAppConfig.STATS_WINDOW_MS_CONFIG),
                config.getLong(StreamformerAppConfig.STATS_GRACE_MS_CONFIG));
        return new StatsApp(streams);
    }

    /**
     * Says, in one line every {@value #LATE_REPORT_SECONDS} s while it grows, how many events were
     * dropped as later than their window's end + grace: Kafka Streams warns once per record.
     */
    private static void reportLate(final KafkaStreams streams, final long graceMs) {
        double reported = 0;
        try {
            while (streams.state() != KafkaStreams.State.NOT_RUNNING && streams.state() != KafkaStreams.State.ERROR) {
                Thread.sleep(LATE_REPORT_SECONDS * 1000L);
                final double dropped = dropped(streams);
                if (dropped > reported) {
                    LOG.warn("{} latency events dropped so far as later than their window's end + grace ({} ms): events"
                            + " of different partitions arrive out of order when statistics start behind a backlog;"
                            + " raise --grace (streamformer.stats.grace.ms) to keep them", (long) dropped, graceMs);
                    reported = dropped;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** @return late records dropped by every task, from Kafka Streams' dropped-records-total */
    static double dropped(final KafkaStreams streams) {
        double total = 0;
        for (final Map.Entry<MetricName, ? extends Metric> e : streams.metrics().entrySet()) {
            if (e.getKey().name().equals("dropped-records-total") && e.getValue().metricValue() instanceof Double d) {
                total += d;
            }
        }
        return total;
    }

    /** @return latency events dropped so far as later than their window's end + grace */
    public long lateEvents() {
        return (long) dropped(streams);
    }

    /** @return the Kafka Streams state */
    public KafkaStreams.State state() {
        return streams.state();
    }

    @Override
    public void close() {
        streams.close(Duration.ofSeconds(30));
    }
}
