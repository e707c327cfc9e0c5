package dev.streamformer.monitor;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToLongFunction;

import org.HdrHistogram.Histogram;

import dev.streamformer.schemas.LatencyEvent;

/**
 * Percentiles of every duration of a set of latency events, kept in HdrHistograms (microseconds,
 * 3 significant digits). Not thread-safe.
 */
public final class LatencySummary {

    /** The durations reported, by column name. */
    public static final Map<String, ToLongFunction<LatencyEvent>> DURATIONS = durations();

    private static final long MAX_US = 3_600_000_000L;

    private final Map<String, Histogram> histograms = new LinkedHashMap<>();
    private long count;

    /** Creates an empty summary. */
    public LatencySummary() {
        DURATIONS.keySet().forEach(name -> histograms.put(name, new Histogram(MAX_US, 3)));
    }

    private static Map<String, ToLongFunction<LatencyEvent>> durations() {
        final Map<String, ToLongFunction<LatencyEvent>> m = new LinkedHashMap<>();
        m.put("queueing", LatencyEvent::getQueueingUs);
        m.put("batch_wait", LatencyEvent::getBatchWaitUs);
        m.put("inference", LatencyEvent::getInferenceUs);
        m.put("processing", LatencyEvent::getProcessingUs);
        m.put("end_to_end", LatencyEvent::getEndToEndUs);
        return m;
    }

    /**
     * Adds one event. Negative durations (clocks of two hosts) are clamped to 0.
     *
     * @param event the event
     */
    public void add(final LatencyEvent event) {
        DURATIONS.forEach((name, f) -> histograms.get(name).recordValue(Math.min(MAX_US, Math.max(0, f.applyAsLong(event)))));
        count++;
    }

    /**
     * Adds every value of another summary.
     *
     * @param other the summary to merge
     */
    public void add(final LatencySummary other) {
        histograms.forEach((name, h) -> h.add(other.histograms.get(name)));
        count += other.count;
    }

    /** @return the number of events */
    public long count() {
        return count;
    }

    /**
     * @param duration a name from {@link #DURATIONS}
     * @param percentile 0 to 100
     * @return the value in microseconds
     */
    public long percentileUs(final String duration, final double percentile) {
        return histograms.get(duration).getValueAtPercentile(percentile);
    }

    /** @return a table: one row per duration, columns p50, p95, p99 and max in milliseconds */
    public String toTable() {
        final StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "  %-12s %10s %10s %10s %10s%n", "duration ms", "p50", "p95", "p99", "max"));
        histograms.forEach((name, h) -> b.append(String.format(Locale.ROOT, "  %-12s %10.2f %10.2f %10.2f %10.2f%n",
                name, h.getValueAtPercentile(50) / 1e3, h.getValueAtPercentile(95) / 1e3,
                h.getValueAtPercentile(99) / 1e3, h.getMaxValue() / 1e3)));
        return b.toString();
    }
}
