package dev.streamformer.stats;

import java.nio.ByteBuffer;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.ToLongFunction;
import java.util.zip.DataFormatException;

import org.HdrHistogram.Histogram;

import dev.streamformer.schemas.DurationStats;
import dev.streamformer.schemas.ErrorKind;
import dev.streamformer.schemas.LatencyEvent;
import dev.streamformer.schemas.LatencyStats;

/**
 * What one window of one model version has seen: an HdrHistogram per duration (2 significant
 * digits, so every percentile is within 1 % of the exact value), batch sizes, and dead letters by
 * kind. Accumulators of the same window merge by adding histograms and counts, which is what makes
 * statistics from many partitions and instances one record; they travel through Kafka Streams'
 * window store and its changelog in {@link #toBytes()}.
 */
final class WindowAccumulator {

    /** Significant digits of the histograms: the relative error of every value is at most 10^-2. */
    static final int DIGITS = 2;
    /** The bound of the percentiles' relative error. */
    static final double RELATIVE_ERROR = 0.01;
    private static final long HIGHEST_US = 3_600_000_000L;

    private static final Map<String, ToLongFunction<LatencyEvent>> DURATIONS = new LinkedHashMap<>();

    static {
        DURATIONS.put("queueing", LatencyEvent::getQueueingUs);
        DURATIONS.put("batch_wait", LatencyEvent::getBatchWaitUs);
        DURATIONS.put("inference", LatencyEvent::getInferenceUs);
        DURATIONS.put("processing", LatencyEvent::getProcessingUs);
        DURATIONS.put("end_to_end", LatencyEvent::getEndToEndUs);
    }

    private final Map<String, Histogram> histograms = new LinkedHashMap<>();
    private final Map<ErrorKind, Long> deadLetters = new EnumMap<>(ErrorKind.class);
    private long count;
    private long batchSum;
    private int batchMax;
    /** Layers run, over the requests whose events report them (LatencyEvent version 2). */
    private long layersSum;
    private long layersCount;

    WindowAccumulator() {
        DURATIONS.keySet().forEach(name -> histograms.put(name, new Histogram(HIGHEST_US, DIGITS)));
    }

    /** Counts one served request. */
    WindowAccumulator add(final LatencyEvent e) {
        DURATIONS.forEach((name, f) -> histograms.get(name).recordValue(Math.min(HIGHEST_US, Math.max(0, f.applyAsLong(e)))));
        count++;
        batchSum += e.getBatchSize();
        batchMax = Math.max(batchMax, e.getBatchSize());
        if (e.getLayersRun() != null) {
            layersSum += e.getLayersRun();
            layersCount++;
        }
        return this;
    }

    /** Counts one dead letter. */
    WindowAccumulator addDeadLetter(final ErrorKind kind) {
        deadLetters.merge(kind, 1L, Long::sum);
        return this;
    }

    /** Adds what another accumulator of the same window has seen. */
    WindowAccumulator merge(final WindowAccumulator other) {
        other.histograms.forEach((name, h) -> histograms.get(name).add(h));
        other.deadLetters.forEach((kind, n) -> deadLetters.merge(kind, n, Long::sum));
        count += other.count;
        batchSum += other.batchSum;
        batchMax = Math.max(batchMax, other.batchMax);
        layersSum += other.layersSum;
        layersCount += other.layersCount;
        return this;
    }

    /**
     * @param version the model version (or "*")
     * @param startMs window start
     * @param endMs window end
     * @return the window's statistics
     */
    LatencyStats toStats(final String version, final long startMs, final long endMs) {
        final Map<String, Long> letters = new LinkedHashMap<>();
        deadLetters.forEach((kind, n) -> letters.put(kind.name(), n));
        return LatencyStats.newBuilder()
                .setModelVersion(version)
                .setWindowStart(java.time.Instant.ofEpochMilli(startMs))
                .setWindowEnd(java.time.Instant.ofEpochMilli(endMs))
                .setCount(count)
                .setRecordsPerSecond(count / ((endMs - startMs) / 1000.0))
                .setQueueing(stats("queueing"))
                .setBatchWait(stats("batch_wait"))
                .setInference(stats("inference"))
                .setProcessing(stats("processing"))
                .setEndToEnd(stats("end_to_end"))
                .setBatchSizeMean(count == 0 ? 0 : (double) batchSum / count)
                .setBatchSizeMax(batchMax)
                .setDeadLetters(letters)
                .setRelativeError(RELATIVE_ERROR)
                .setLayersRunMean(layersCount == 0 ? null : (double) layersSum / layersCount)
                .build();
    }

    private DurationStats stats(final String name) {
        final Histogram h = histograms.get(name);
        return DurationStats.newBuilder()
                .setP50Us(h.getTotalCount() == 0 ? 0 : h.getValueAtPercentile(50))
                .setP95Us(h.getTotalCount() == 0 ? 0 : h.getValueAtPercentile(95))
                .setP99Us(h.getTotalCount() == 0 ? 0 : h.getValueAtPercentile(99))
                .setMaxUs(h.getTotalCount() == 0 ? 0 : h.getMaxValue())
                .build();
    }

    /**
     * @return the accumulator as bytes, for the window store: counts, dead letters, histograms, then
     *     the layers run (added last, so windows stored by earlier processors still read)
     */
    byte[] toBytes() {
        int size = 8 + 8 + 4 + 4 + deadLetters.size() * 12 + 16;
        final Map<String, ByteBuffer> encoded = new LinkedHashMap<>();
        for (final Map.Entry<String, Histogram> e : histograms.entrySet()) {
            final ByteBuffer b = ByteBuffer.allocate(e.getValue().getNeededByteBufferCapacity());
            final int n = e.getValue().encodeIntoCompressedByteBuffer(b);
            encoded.put(e.getKey(), ByteBuffer.wrap(b.array(), 0, n));
            size += 4 + b.remaining();
        }
        final ByteBuffer out = ByteBuffer.allocate(size);
        out.putLong(count).putLong(batchSum).putInt(batchMax).putInt(deadLetters.size());
        deadLetters.forEach((kind, n) -> out.putInt(kind.ordinal()).putLong(n));
        encoded.values().forEach(b -> out.putInt(b.remaining()).put(b));
        out.putLong(layersSum).putLong(layersCount);
        return out.array();
    }

    /**
     * @param bytes what {@link #toBytes()} wrote
     * @return the accumulator
     */
    static WindowAccumulator fromBytes(final byte[] bytes) {
        final ByteBuffer in = ByteBuffer.wrap(bytes);
        final WindowAccumulator a = new WindowAccumulator();
        a.count = in.getLong();
        a.batchSum = in.getLong();
        a.batchMax = in.getInt();
        final int kinds = in.getInt();
        for (int i = 0; i < kinds; i++) {
            a.deadLetters.put(ErrorKind.values()[in.getInt()], in.getLong());
        }
        for (final String name : DURATIONS.keySet()) {
            final int n = in.getInt();
            // A buffer of its own: HdrHistogram's decoder reads the backing array from its start.
            final byte[] part = new byte[n];
            in.get(part);
            final ByteBuffer b = ByteBuffer.wrap(part);
            try {
                a.histograms.put(name, Histogram.decodeFromCompressedByteBuffer(b, HIGHEST_US));
            } catch (DataFormatException e) {
                throw new IllegalStateException("Corrupt statistics window for " + name, e);
            }
        }
        if (in.remaining() >= 16) {
            a.layersSum = in.getLong();
            a.layersCount = in.getLong();
        }
        return a;
    }
}
