package dev.streamformer.bench.stream;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;

import dev.streamformer.bench.MemoryProbe;
import dev.streamformer.model.InferenceEngine;
import dev.streamformer.stream.ModelRegistry;
import dev.streamformer.stream.StreamformerApp;

/**
 * The memory suite: resident memory of a processor JVM with 1 to 8 stream threads, for the shared
 * model and for the baseline where every task loads its own copy. Each point is a fresh child JVM
 * with a fixed, pre-touched heap ({@value #HEAP}), so that heap sizing by the garbage collector
 * does not move the figure: what grows with threads is native memory (weights, activations,
 * thread stacks, allocator arenas) and the clients' buffers inside the fixed heap do not count.
 * The child processes a prefilled topic to the end, so every thread has run batches, and then
 * reports VmRSS.
 */
public final class MemoryBenchmark {

    /** The child's heap, fixed and pre-touched. */
    public static final String HEAP = "512m";

    /**
     * The allocator setting the Dockerfile gives the processor and the memory suite its children by
     * default: two glibc arenas for all threads, so freed activations are not kept in one arena per
     * thread. Alternatives measured (docs/BENCHMARKS.md): a fixed small mmap threshold or jemalloc with
     * a short decay return more memory, but cost page faults on every batch (the forward pass 15-40 %
     * slower).
     */
    public static final String GLIBC_MALLOC = "MALLOC_ARENA_MAX=2";


    private static final long SETTLE_MS = 3_000;
    private static final String MARK = "streamformer-memory-rss:";

    /**
     * One point.
     *
     * @param streamThreads Kafka Streams threads
     * @param copyPerTask whether every task loaded its own model copy
     * @param residentBytes VmRSS after the topic was processed
     * @param peakResidentBytes VmHWM, the highest VmRSS while it was processed
     * @param modelLoads how many times the child loaded the model
     */
    public record Point(int streamThreads, boolean copyPerTask, long residentBytes, long peakResidentBytes,
            int modelLoads) {
    }

    private MemoryBenchmark() {
    }

    /**
     * Child entry point.
     *
     * @param args bootstrap, request topic, model directory, stream threads, copy (true/false), records, state dir,
     *     engine
     * @throws Exception when the processor fails
     */
    public static void main(final String[] args) throws Exception {
        final String bootstrap = args[0];
        final int threads = Integer.parseInt(args[3]);
        final boolean copy = Boolean.parseBoolean(args[4]);
        final int records = Integer.parseInt(args[5]);
        final String id = "bench-memory-" + threads + (copy ? "-copy-" : "-shared-") + UUID.randomUUID().toString()
                .substring(0, 8);
        final Properties props = PipelineBenchmark.processorProperties(bootstrap, id,
                new PipelineBenchmark.Settings("memory", threads, 1, 8, 20, copy), args[1], threads, args[2],
                Path.of(args[6]), InferenceEngine.parse(args[7]));
        final ModelRegistry registry = copy ? new CopyingRegistry() : ModelRegistry.shared();
        try (StreamformerApp app = StreamformerApp.start(props, registry);
                KafkaConsumer<String, byte[]> reader = PipelineBenchmark.reader(bootstrap, id + "-latency")) {
            final Set<String> seen = new HashSet<>();
            final long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
            while (seen.size() < records && System.nanoTime() < deadline) {
                for (final ConsumerRecord<String, byte[]> r : reader.poll(Duration.ofMillis(200))) {
                    seen.add(r.key());
                }
            }
            if (seen.size() < records) {
                throw new IllegalStateException("only " + seen.size() + " of " + records + " processed in 5 minutes");
            }
            Thread.sleep(SETTLE_MS); // lets an allocator that returns memory after a delay (jemalloc's decay) do so
            System.out.println(MARK + MemoryProbe.residentBytes() + " " + MemoryProbe.peakResidentBytes() + " "
                    + registry.loads());
            app.close(Duration.ofSeconds(30));
        }
        System.exit(0);
    }

    /**
     * Measures one point in a fresh child JVM.
     *
     * @param bootstrap the broker
     * @param topic a prefilled request topic with one partition per stream thread
     * @param records requests in it
     * @param modelDir the model
     * @param threads stream threads
     * @param copy the baseline (a model copy per task) instead of the shared model
     * @param stateDir where the child keeps state
     * @param malloc the child's allocator environment, NAME=value separated by spaces (may be empty)
     * @param engine the engine that serves
     * @return the point
     * @throws IOException when the child cannot be started
     * @throws InterruptedException when interrupted
     */
    public static Point measure(final String bootstrap, final String topic, final int records, final Path modelDir,
            final int threads, final boolean copy, final Path stateDir, final String malloc, final InferenceEngine engine)
            throws IOException, InterruptedException {
        final Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        final ProcessBuilder builder = new ProcessBuilder(java.toString(), "-Xms" + HEAP, "-Xmx" + HEAP, "-XX:+AlwaysPreTouch",
                "-Dai.djl.offline=true", "-cp", System.getProperty("java.class.path"), MemoryBenchmark.class.getName(),
                bootstrap, topic, modelDir.toString(), Integer.toString(threads), Boolean.toString(copy),
                Integer.toString(records), stateDir.toString(), engine.configName())
                .redirectErrorStream(true);
        builder.environment().keySet().removeIf(name -> name.startsWith("MALLOC_") || "LD_PRELOAD".equals(name));
        builder.environment().putAll(parseEnvironment(malloc));
        final Process p = builder.start();
        final String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IllegalStateException("memory child (" + threads + " threads) failed:\n" + tail(out));
        }
        for (final String line : out.split("\n")) {
            if (line.startsWith(MARK)) {
                final String[] parts = line.substring(MARK.length()).strip().split(" ");
                return new Point(threads, copy, Long.parseLong(parts[0]), Long.parseLong(parts[1]),
                        Integer.parseInt(parts[2]));
            }
        }
        throw new IllegalStateException("memory child (" + threads + " threads) reported nothing:\n" + tail(out));
    }

    /**
     * @param settings NAME=value pairs separated by spaces
     * @return them as a map
     * @throws IllegalArgumentException when a pair has no '='
     */
    public static Map<String, String> parseEnvironment(final String settings) {
        final Map<String, String> env = new LinkedHashMap<>();
        for (final String setting : settings.strip().split("\\s+")) {
            if (setting.isEmpty()) {
                continue;
            }
            final int eq = setting.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("Allocator setting '" + setting + "' is not NAME=value, for example "
                        + GLIBC_MALLOC);
            }
            env.put(setting.substring(0, eq), setting.substring(eq + 1));
        }
        return env;
    }

    private static String tail(final String out) {
        return out.length() > 4000 ? out.substring(out.length() - 4000) : out;
    }
}
