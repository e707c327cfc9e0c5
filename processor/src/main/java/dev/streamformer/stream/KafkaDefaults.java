package dev.streamformer.stream;

import java.util.List;
import java.util.Properties;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.streams.StreamsConfig;

import dev.streamformer.model.DefaultModel;

/**
 * The Kafka Streams and client settings Streamformer sets unless the application does, with the
 * reason for each: the standalone processor runs on them, and an application that embeds the
 * inference step starts from {@link #under(Properties)} to get the same behaviour (the README's
 * table is generated from {@link #KAFKA_DEFAULTS}).
 */
public final class KafkaDefaults {

    /** Requests per poll of a stream thread's consumer (Kafka's default is 1,000); see {@link #properties()}. */
    public static final int MAX_POLL_RECORDS = 100;

    private KafkaDefaults() {
    }

    /** The consumer session timeout the processor sets (Kafka's default is 45 s). */
    public static final int SESSION_TIMEOUT_MS = 15_000;

    /** The commit interval the processor sets (Kafka's exactly-once default is 100 ms). */
    public static final long COMMIT_INTERVAL_MS = 500;

    /**
     * The defaults under the user's properties: application id {@code streamformer},
     * exactly_once_v2, 2 stream threads, a {@value #COMMIT_INTERVAL_MS} ms commit interval, and at most
     * {@value #MAX_POLL_RECORDS} requests per poll of the main consumer.
     *
     * <p>The last one matters because a request costs milliseconds of compute, not microseconds. A
     * stream thread processes everything one poll returned before it polls again, and during a
     * rebalance it may not commit. With Kafka's 1,000 records per poll a thread with a backlog runs
     * for 20-50 s between polls: a rebalance (a new instance, a new thread) then waits for it, its
     * open transaction passes {@code transaction.timeout.ms} (10 s), the broker aborts it, and the
     * thread is fenced and redoes all that work. Measured in the benchmark: a thread that took every
     * task first kept the other idle for 24 s and then lost its output.
     *
     * @return the defaults
     */
    public static Properties properties() {
        final Properties p = new Properties();
        KAFKA_DEFAULTS.forEach(d -> p.put(d.key(), d.value().replace(CACHE, DefaultModel.cacheRoot().toString())));
        return p;
    }

    /** Stands for {@link DefaultModel#cacheRoot()} in a default's value. */
    private static final String CACHE = "$STREAMFORMER_CACHE";

    /**
     * A Kafka key the processor sets unless the user does.
     *
     * @param key the Kafka Streams or client key
     * @param value its value here
     * @param reason why, as the README's table says it
     */
    public record KafkaDefault(String key, String value, String reason) {
    }

    /** The Kafka keys the processor sets, with their reasons (the README's table is generated from this). */
    public static final List<KafkaDefault> KAFKA_DEFAULTS = List.of(
            new KafkaDefault(StreamsConfig.APPLICATION_ID_CONFIG, "streamformer",
                    "instances with the same id share the request partitions"),
            new KafkaDefault(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2,
                    "no prediction lost or duplicated; `at_least_once` (`run --at-least-once`) is faster and may"
                            + " duplicate after a crash"),
            new KafkaDefault(StreamsConfig.NUM_STREAM_THREADS_CONFIG, "2", "one per core on a 2-core machine"),
            new KafkaDefault(StreamsConfig.STATE_DIR_CONFIG, CACHE + "/state",
                    "the batch buffers' local state, per user (`STREAMFORMER_CACHE` defaults to"
                            + " `~/.cache/streamformer`), not Kafka's `/tmp/kafka-streams`, which every user of the machine"
                            + " shares and a reboot may clear; put it on a volume in a container"),
            new KafkaDefault(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, Long.toString(COMMIT_INTERVAL_MS),
                    "outputs become visible to read_committed consumers within about this after they are computed. Each"
                            + " commit ends a transaction, with a marker on every output and changelog partition, so"
                            + " fewer commits leave more of the cores to inference (docs/BENCHMARKS.md, commit interval,"
                            + " has the figures). Set 100 where"
                            + " consumers must see each prediction sooner"),
            new KafkaDefault(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, Integer.toString(SESSION_TIMEOUT_MS),
                    "how long the group waits for an instance that stopped heartbeating before it hands its partitions"
                            + " to the others (Kafka's 45 s). A restarted instance does not wait for it: static"
                            + " membership (`group.instance.id`, README: operations) takes its partitions back at once;"
                            + " this bounds the silence when an instance dies and does not come back. Heartbeats come"
                            + " from a background thread, so long batches do not count, but a pause of the whole JVM or"
                            + " a network cut longer than this moves the partitions"),
            new KafkaDefault(StreamsConfig.mainConsumerPrefix(ConsumerConfig.MAX_POLL_RECORDS_CONFIG),
                    Integer.toString(MAX_POLL_RECORDS),
                    "a stream thread finishes what one poll returned before it polls again, and may not commit during"
                            + " a rebalance; with Kafka's 1,000 a thread with a backlog computes for 20-50 s between polls,"
                            + " holds up every rebalance, and its transaction times out (10 s) and is redone. Keep records"
                            + " per poll x time per request well under `transaction.timeout.ms`. A `max.poll.records` of"
                            + " your own replaces this default"));

    /**
     * @param userProps the user's properties
     * @return the defaults overlaid with them; a {@code max.poll.records} of the user's (plain or
     *     with the {@code consumer.} prefix) replaces our main-consumer default, which would
     *     otherwise take precedence over it in Kafka Streams
     */
    public static Properties under(final Properties userProps) {
        final Properties all = properties();
        all.putAll(userProps);
        final String mainPollRecords = StreamsConfig.mainConsumerPrefix(ConsumerConfig.MAX_POLL_RECORDS_CONFIG);
        if (!userProps.containsKey(mainPollRecords)
                && (userProps.containsKey(ConsumerConfig.MAX_POLL_RECORDS_CONFIG)
                        || userProps.containsKey(StreamsConfig.consumerPrefix(ConsumerConfig.MAX_POLL_RECORDS_CONFIG)))) {
            all.remove(mainPollRecords);
        }
        return all;
    }
}
