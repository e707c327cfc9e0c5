package dev.streamformer.fault;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

import dev.streamformer.client.CommittedReads;
import dev.streamformer.schemas.LatencyEvent;
import dev.streamformer.schemas.serde.StreamformerSerdes;

/**
 * Watches the latency topic as a read_committed consumer while a scenario runs, and notes when each
 * event became visible: what a consumer of the predictions sees (a latency event is written in the
 * same transaction as its prediction). From that it tells how long the output stopped after each
 * fault.
 */
final class OutputWatch implements AutoCloseable {

    /** A latency event as the watcher saw it: when, from which request partition, computed when. */
    private record Seen(long seenMs, int partition, long handedMs) {
    }

    private final String topic;
    private final int partitions;
    private final List<Seen> seen = new ArrayList<>();
    private final Thread thread;
    private volatile boolean running = true;

    /**
     * Starts watching.
     *
     * @param bootstrap the brokers
     * @param topic the latency topic
     * @param partitions partitions of the request topic
     */
    OutputWatch(final String bootstrap, final String topic, final int partitions) {
        this.topic = topic;
        this.partitions = partitions;
        final Properties p = CommittedReads.fromBeginning(bootstrap, topic + "-watch");
        thread = new Thread(() -> watch(p), topic + "-watch");
        thread.setDaemon(true);
        thread.start();
    }

    private void watch(final Properties p) {
        try (KafkaConsumer<String, byte[]> reader = new KafkaConsumer<>(p, new StringDeserializer(),
                new ByteArrayDeserializer())) {
            reader.subscribe(List.of(topic));
            while (running) {
                for (final ConsumerRecord<String, byte[]> r : reader.poll(Duration.ofMillis(100))) {
                    final LatencyEvent e = StreamformerSerdes.latencyEvent().deserialize(r.topic(), r.value());
                    synchronized (seen) {
                        seen.add(new Seen(System.currentTimeMillis(), e.getSourcePartition(),
                                e.getHandedToKafkaUs() / 1_000));
                    }
                }
            }
        } catch (RuntimeException e) {
            if (running) {
                System.err.println("the output watch of " + topic + " stopped: " + e);
            }
        }
    }

    /**
     * @param fault what was done
     * @param atMs when, wall clock
     * @return how long until predictions computed after it came out
     */
    FaultSuite.Recovery recovery(final String fault, final long atMs) {
        long first = Long.MAX_VALUE;
        final long[] firstOf = new long[partitions];
        Arrays.fill(firstOf, Long.MAX_VALUE);
        synchronized (seen) {
            for (final Seen s : seen) {
                if (s.handedMs() > atMs) {
                    first = Math.min(first, s.seenMs());
                    if (s.partition() < partitions) {
                        firstOf[s.partition()] = Math.min(firstOf[s.partition()], s.seenMs());
                    }
                }
            }
        }
        long every = 0;
        for (final long f : firstOf) {
            every = Math.max(every, f);
        }
        return new FaultSuite.Recovery(fault, first == Long.MAX_VALUE ? Double.NaN : (first - atMs) / 1e3,
                every == Long.MAX_VALUE ? Double.NaN : (every - atMs) / 1e3);
    }

    /** @return latency events seen so far */
    long count() {
        synchronized (seen) {
            return seen.size();
        }
    }

    /** @return events per second from the first seen to the last */
    double ratePerSecond() {
        synchronized (seen) {
            final long first = seen.stream().mapToLong(Seen::seenMs).min().orElse(0);
            final long last = seen.stream().mapToLong(Seen::seenMs).max().orElse(0);
            return last > first ? (seen.size() - 1) * 1000.0 / (last - first) : Double.NaN;
        }
    }

    /** @return the longest time, in seconds, between two consecutive events seen */
    double longestGapSeconds() {
        synchronized (seen) {
            final long[] times = seen.stream().mapToLong(Seen::seenMs).sorted().toArray();
            long gap = 0;
            for (int i = 1; i < times.length; i++) {
                gap = Math.max(gap, times[i] - times[i - 1]);
            }
            return gap / 1e3;
        }
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        thread.join(10_000);
    }
}
