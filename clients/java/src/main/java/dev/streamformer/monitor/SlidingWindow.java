package dev.streamformer.monitor;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.TreeMap;

import dev.streamformer.schemas.LatencyEvent;

/**
 * Latency events of the last N seconds, per model version, as one summary per second of arrival.
 * Not thread-safe.
 */
public final class SlidingWindow {

    private final int seconds;
    private final Map<String, Deque<Slot>> byVersion = new TreeMap<>();

    private record Slot(long second, LatencySummary summary) {
    }

    /**
     * @param seconds the window length
     */
    public SlidingWindow(final int seconds) {
        this.seconds = seconds;
    }

    /**
     * Adds an event that arrived at a given time.
     *
     * @param event the event
     * @param arrivalMs when it was read, ms since epoch
     */
    public void add(final LatencyEvent event, final long arrivalMs) {
        final long second = arrivalMs / 1000;
        final Deque<Slot> slots = byVersion.computeIfAbsent(event.getModelVersion(), v -> new ArrayDeque<>());
        if (slots.isEmpty() || slots.peekLast().second() != second) {
            slots.addLast(new Slot(second, new LatencySummary()));
        }
        slots.peekLast().summary().add(event);
    }

    /**
     * The events of the window ending now, per model version; older slots are dropped.
     *
     * @param nowMs now, ms since epoch
     * @return a summary per model version
     */
    public Map<String, LatencySummary> snapshot(final long nowMs) {
        final long oldest = nowMs / 1000 - seconds + 1;
        final Map<String, LatencySummary> out = new TreeMap<>();
        byVersion.forEach((version, slots) -> {
            while (!slots.isEmpty() && slots.peekFirst().second() < oldest) {
                slots.removeFirst();
            }
            final LatencySummary merged = new LatencySummary();
            slots.forEach(s -> merged.add(s.summary()));
            if (merged.count() > 0) {
                out.put(version, merged);
            }
        });
        return out;
    }

    /** @return the window length in seconds */
    public int seconds() {
        return seconds;
    }
}
