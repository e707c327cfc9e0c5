package dev.streamformer.fault;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

import dev.streamformer.testkit.ChildProcess;

/**
 * A processor's memory, minute by minute, from outside its JVM: resident memory and open file
 * descriptors from /proc, the live heap after a full collection asked for with {@code jcmd
 * GC.run}, and its GC pauses from the {@code -Xlog:gc} file it writes. Fits a line to each series
 * after a warm-up and says whether any grows faster than its bound.
 */
public final class MemorySeries {

    /**
     * One sample.
     *
     * @param minute minutes since the run began
     * @param residentMb resident memory, MB
     * @param heapAfterGcMb the heap in use right after a full collection, MB
     * @param openFiles open file descriptors
     * @param predictedPerSecond predictions a consumer saw per second since the previous sample
     * @param faults the faults done since the previous sample
     */
    public record Sample(double minute, double residentMb, double heapAfterGcMb, int openFiles,
            double predictedPerSecond, String faults) {
    }

    /**
     * Growth bounds, per minute.
     *
     * @param residentMb resident memory
     * @param heapMb heap after a full collection
     * @param openFiles open file descriptors
     */
    public record Bounds(double residentMb, double heapMb, double openFiles) {
    }

    /**
     * What the series showed.
     *
     * @param samples every sample
     * @param warmupMinutes samples before this are left out of the fits
     * @param residentSlope MB per minute
     * @param heapSlope MB per minute
     * @param filesSlope descriptors per minute
     * @param bounds the bounds
     * @param pausesMs GC pause percentiles p50, p90, p99, max (collections the sampler asked for left out)
     * @param pauses how many pauses
     */
    public record Verdict(List<Sample> samples, double warmupMinutes, double residentSlope, double heapSlope,
            double filesSlope, Bounds bounds, double[] pausesMs, int pauses) {

        /** @return no series grew faster than its bound */
        public boolean flat() {
            return residentSlope <= bounds.residentMb() && heapSlope <= bounds.heapMb()
                    && filesSlope <= bounds.openFiles();
        }

        /** @return the summary lines */
        public String toText() {
            return String.format(Locale.ROOT, "fitted slopes after minute %.0f (bounds):%n"
                    + "  resident memory  %+.2f MB/min (%.2f)%s%n"
                    + "  heap after GC    %+.2f MB/min (%.2f)%s%n"
                    + "  open files       %+.2f /min (%.2f)%s%n"
                    + "GC pauses (%d): p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms",
                    warmupMinutes, residentSlope, bounds.residentMb(), mark(residentSlope <= bounds.residentMb()),
                    heapSlope, bounds.heapMb(), mark(heapSlope <= bounds.heapMb()), filesSlope, bounds.openFiles(),
                    mark(filesSlope <= bounds.openFiles()), pauses, pausesMs[0], pausesMs[1], pausesMs[2], pausesMs[3]);
        }

        private static String mark(final boolean ok) {
            return ok ? "" : "  GROWS";
        }
    }

    /** A pause line of {@code -Xlog:gc}: {@code ... Pause Young (Normal) (G1 Evacuation Pause) 60M->20M(256M) 3.456ms}. */
    private static final Pattern PAUSE = Pattern.compile("Pause .*?(\\d+)M->(\\d+)M\\((\\d+)M\\) ([0-9.]+)ms");
    private static final Pattern HEAP_USED = Pattern.compile("heap\\s+total\\s+(?:reserved\\s+)?\\d+K,\\s+(?:committed\\s+\\d+K,\\s+)?used\\s+(\\d+)K");

    private final ChildProcess process;
    private final Path gcLog;
    private final long startNanos = System.nanoTime();
    private final List<Sample> samples = new ArrayList<>();

    /**
     * @param process the processor to watch (started with {@link #jvmOptions(Path)})
     * @param gcLog its GC log
     */
    public MemorySeries(final ChildProcess process, final Path gcLog) {
        this.process = process;
        this.gcLog = gcLog;
    }

    /**
     * @param gcLog where the watched JVM writes its GC log
     * @return the JVM options the watched processor needs
     */
    public static List<String> jvmOptions(final Path gcLog) {
        return List.of("-Xlog:gc:file=" + gcLog + ":uptime");
    }

    /**
     * Takes a sample (a full collection in the watched JVM first) and prints it.
     *
     * @param predictedPerSecond predictions per second since the previous sample
     * @param faults faults since the previous sample
     * @return the sample
     * @throws IOException when /proc or jcmd cannot be read
     * @throws InterruptedException when interrupted
     */
    public Sample sample(final double predictedPerSecond, final String faults) throws IOException,
            InterruptedException {
        final long pid = process.pid();
        final double heap = heapAfterFullGc(pid);
        final int files;
        try (var fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
            files = (int) fds.count();
        }
        final Sample s = new Sample((System.nanoTime() - startNanos) / 60e9, process.residentMb(), heap, files,
                predictedPerSecond, faults);
        samples.add(s);
        return s;
    }

    /** @return the heap in use after a full collection, MB */
    private static double heapAfterFullGc(final long pid) throws IOException, InterruptedException {
        jcmd(pid, "GC.run");
        return heapUsedMb(jcmd(pid, "GC.heap_info"));
    }

    /**
     * @param heapInfo what {@code jcmd <pid> GC.heap_info} printed
     * @return the heap in use, MB
     * @throws IOException when it names no figure
     */
    static double heapUsedMb(final String heapInfo) throws IOException {
        final Matcher m = HEAP_USED.matcher(heapInfo);
        if (!m.find()) {
            throw new IOException("jcmd GC.heap_info gave no 'used' figure: " + heapInfo.strip());
        }
        return Long.parseLong(m.group(1)) / 1024.0;
    }

    private static String jcmd(final long pid, final String command) throws IOException, InterruptedException {
        final Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        final Process p = new ProcessBuilder(jcmd.toString(), Long.toString(pid), command).redirectErrorStream(true)
                .start();
        final String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("jcmd " + pid + " " + command + " failed: " + out.strip());
        }
        return out;
    }

    /**
     * @param warmupMinutes samples before this minute are left out of the fits
     * @param bounds the growth bounds
     * @return the slopes, the pauses and whether the series are flat
     * @throws IOException when the GC log cannot be read
     */
    public Verdict verdict(final double warmupMinutes, final Bounds bounds) throws IOException {
        final List<Sample> fitted = samples.stream().filter(s -> s.minute() >= warmupMinutes).toList();
        final double[] x = fitted.stream().mapToDouble(Sample::minute).toArray();
        final double[] pauses = pausesMs(Files.exists(gcLog) ? Files.readAllLines(gcLog) : List.of());
        return new Verdict(List.copyOf(samples), warmupMinutes,
                slope(x, fitted.stream().mapToDouble(Sample::residentMb).toArray()),
                slope(x, fitted.stream().mapToDouble(Sample::heapAfterGcMb).toArray()),
                slope(x, fitted.stream().mapToDouble(Sample::openFiles).toArray()), bounds,
                new double[] {percentile(pauses, 0.5), percentile(pauses, 0.9), percentile(pauses, 0.99),
                    percentile(pauses, 1.0)}, pauses.length);
    }

    /**
     * @param x the x values
     * @param y the y values
     * @return the least-squares slope, 0 with fewer than two points
     */
    static double slope(final double[] x, final double[] y) {
        if (x.length < 2) {
            return 0;
        }
        final double mx = Arrays.stream(x).average().orElse(0);
        final double my = Arrays.stream(y).average().orElse(0);
        double num = 0;
        double den = 0;
        for (int i = 0; i < x.length; i++) {
            num += (x[i] - mx) * (y[i] - my);
            den += (x[i] - mx) * (x[i] - mx);
        }
        return den == 0 ? 0 : num / den;
    }

    /**
     * @param gcLogLines lines of a {@code -Xlog:gc} file
     * @return the pause durations in ms, sorted, without the full collections {@code jcmd GC.run} asked for
     */
    static double[] pausesMs(final List<String> gcLogLines) {
        return gcLogLines.stream().filter(l -> !l.contains("System.gc()")).map(PAUSE::matcher).filter(Matcher::find)
                .mapToDouble(m -> Double.parseDouble(m.group(4))).sorted().toArray();
    }

    private static double percentile(final double[] sorted, final double q) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        return sorted[Math.max(0, Math.min(sorted.length - 1, (int) Math.ceil(q * sorted.length) - 1))];
    }

    /**
     * Writes the series as CSV and as a chart.
     *
     * @param verdict the verdict
     * @param csv the CSV file
     * @param png the chart
     * @throws IOException when writing fails
     */
    public static void write(final Verdict verdict, final Path csv, final Path png) throws IOException {
        final List<String> lines = new ArrayList<>();
        lines.add("minute,resident_mb,heap_after_gc_mb,open_files,predicted_per_s,faults");
        for (final Sample s : verdict.samples()) {
            lines.add(String.format(Locale.ROOT, "%.2f,%.1f,%.1f,%d,%.1f,\"%s\"", s.minute(), s.residentMb(),
                    s.heapAfterGcMb(), s.openFiles(), s.predictedPerSecond(), s.faults().replace('"', '\'')));
        }
        Files.write(csv, lines);
        final XYChart chart = new XYChartBuilder().width(1000).height(560)
                .title(String.format(Locale.ROOT, "Slopes: RSS %+.2f MB/min, heap after GC %+.2f MB/min, files"
                        + " %+.2f /min", verdict.residentSlope(), verdict.heapSlope(), verdict.filesSlope()))
                .xAxisTitle("minute").yAxisTitle("MB").build();
        final double[] x = verdict.samples().stream().mapToDouble(Sample::minute).toArray();
        chart.addSeries("resident memory, MB", x, verdict.samples().stream().mapToDouble(Sample::residentMb).toArray())
                .setMarker(SeriesMarkers.CIRCLE);
        chart.addSeries("heap after full GC, MB", x,
                verdict.samples().stream().mapToDouble(Sample::heapAfterGcMb).toArray()).setMarker(SeriesMarkers.CIRCLE);
        final XYSeries files = chart.addSeries("open files", x,
                verdict.samples().stream().mapToDouble(Sample::openFiles).toArray());
        files.setYAxisGroup(1);
        files.setMarker(SeriesMarkers.DIAMOND);
        chart.setYAxisGroupTitle(1, "open files");
        chart.getStyler().setYAxisGroupPosition(1, org.knowm.xchart.style.Styler.YAxisPosition.Right);
        chart.getStyler().setYAxisMin(0.0);
        BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
    }
}
