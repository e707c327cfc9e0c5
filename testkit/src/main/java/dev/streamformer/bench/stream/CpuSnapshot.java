package dev.streamformer.bench.stream;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * CPU time of this process and of each of its Java threads at one moment, to say where a run's
 * time went. Threads are grouped by name: the stream threads of one application id, that
 * application's Kafka client threads, the benchmark's own thread, and the rest (in a benchmark with
 * an in-process broker, mostly the broker; garbage collection and JIT compilation are native
 * threads and only show in the process total).
 */
final class CpuSnapshot {

    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    private final long processNanos;
    private final Map<String, Long> byGroup;

    private CpuSnapshot(final long processNanos, final Map<String, Long> byGroup) {
        this.processNanos = processNanos;
        this.byGroup = byGroup;
    }

    /**
     * @param applicationId the processor's application id (its threads' names start with it)
     * @return the snapshot
     */
    static CpuSnapshot take(final String applicationId) {
        final Map<String, Long> groups = new HashMap<>();
        for (final ThreadInfo info : THREADS.getThreadInfo(THREADS.getAllThreadIds())) {
            if (info == null) {
                continue;
            }
            final long nanos = THREADS.getThreadCpuTime(info.getThreadId());
            if (nanos > 0) {
                groups.merge(group(info.getThreadName(), applicationId), nanos, Long::sum);
            }
        }
        final long process = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
        return new CpuSnapshot(process, groups);
    }

    private static String group(final String name, final String applicationId) {
        if (name.contains(applicationId) && name.contains("StreamThread")
                && !name.contains("producer") && !name.contains("consumer")) {
            return "stream threads";
        }
        if (name.contains(applicationId)) {
            return "processor's Kafka clients";
        }
        if ("main".equals(name) || name.startsWith("bench-")) {
            return "benchmark reader and producer";
        }
        return "rest";
    }

    /**
     * @param start the earlier snapshot
     * @param seconds wall-clock seconds between the two
     * @param inferenceSeconds forward-pass seconds in that time (they run on the stream threads)
     * @return fractions of all cores' time, by part, and idle
     */
    Map<String, Double> shareSince(final CpuSnapshot start, final double seconds, final double inferenceSeconds) {
        final double cores = Runtime.getRuntime().availableProcessors() * seconds;
        final Map<String, Double> share = new LinkedHashMap<>();
        final double stream = delta(start, "stream threads");
        share.put("forward passes (wall)", inferenceSeconds / cores);
        share.put("rest of stream threads", Math.max(0, stream - inferenceSeconds) / cores);
        share.put("processor's Kafka clients", delta(start, "processor's Kafka clients") / cores);
        share.put("benchmark reader and producer", delta(start, "benchmark reader and producer") / cores);
        final double process = (processNanos - start.processNanos) / 1e9;
        final double named = stream + delta(start, "processor's Kafka clients") + delta(start,
                "benchmark reader and producer");
        share.put("broker, GC, JIT and the rest", Math.max(0, process - named) / cores);
        share.put("idle", Math.max(0, 1 - process / cores));
        return share;
    }

    private double delta(final CpuSnapshot start, final String group) {
        return (byGroup.getOrDefault(group, 0L) - start.byGroup.getOrDefault(group, 0L)) / 1e9;
    }
}
