package dev.streamformer.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.InferenceEngine;
import dev.streamformer.model.ModelConfig;
import dev.streamformer.model.ParameterStats;
import dev.streamformer.model.SharingPlan;
import dev.streamformer.model.SharingStrategy;

/**
 * Chooses the sharing granularity for this machine: reads its cores, caches and memory, builds the
 * architecture with each plan (none, 2, 3 and L/2 groups, all; seeded random weights, which run as
 * fast as trained ones), measures forward latency at batch 1 (one caller on every core) and
 * throughput at batch 16 (one caller per core, the processor's layout) on ONNX Runtime, and sets
 * each plan's weight working set beside the caches.
 */
public final class PlanAdvisor {

    /** What a plan is chosen for. */
    public enum Goal {
        /** the lowest batch-1 latency */
        LATENCY,
        /** the most records/s at batch 16 */
        THROUGHPUT,
        /** the smallest weights whose throughput is within 10 % of the best */
        MEMORY
    }

    /**
     * The machine.
     *
     * @param cores available processors
     * @param memoryBytes MemTotal
     * @param cacheBytes by level name (l1d, l2, l3), per the first CPU's view; absent when /sys does not say
     */
    public record Machine(int cores, long memoryBytes, Map<String, Long> cacheBytes) {
    }

    /**
     * One plan, measured.
     *
     * @param name the plan
     * @param uniqueParameters stored parameters
     * @param weightBytes their bytes: what a forward pass reads
     * @param fitsIn the smallest cache level holding them, or "memory"
     * @param latencyMs batch 1, one caller on every core: the median pass
     * @param recordsPerSecond batch 16, one caller per core
     */
    public record Plan(String name, long uniqueParameters, long weightBytes, String fitsIn, double latencyMs,
            double recordsPerSecond) {
    }

    /**
     * The advice.
     *
     * @param machine the machine
     * @param tokens tokens per sequence
     * @param plans every plan, measured
     * @param goal what the recommendation is for
     * @param recommended the plan for the goal
     * @param why the rule that chose it
     */
    public record Advice(Machine machine, int tokens, List<Plan> plans, Goal goal, String recommended, String why) {

        /** @return the JSON-ready figures: {@code cache}, {@code plans}, {@code recommended} */
        public Map<String, Object> toMap() {
            final Map<String, Object> m = new LinkedHashMap<>();
            m.put("cores", machine.cores());
            m.put("memory_bytes", machine.memoryBytes());
            m.put("cache", machine.cacheBytes());
            m.put("tokens", tokens);
            final List<Map<String, Object>> ps = new ArrayList<>();
            for (final Plan p : plans) {
                final Map<String, Object> pm = new LinkedHashMap<>();
                pm.put("plan", p.name());
                pm.put("unique_parameters", p.uniqueParameters());
                pm.put("weight_bytes", p.weightBytes());
                pm.put("fits_in", p.fitsIn());
                pm.put("latency_ms_batch_1", p.latencyMs());
                pm.put("records_per_second_batch_16", p.recordsPerSecond());
                ps.add(pm);
            }
            m.put("plans", ps);
            m.put("goal", goal.name().toLowerCase(Locale.ROOT));
            m.put("recommended", recommended);
            m.put("why", why);
            return m;
        }

        /** @return the table people read */
        public String toTable() {
            final StringBuilder b = new StringBuilder();
            b.append(String.format(Locale.ROOT, "machine: %d cores, %.1f GB memory, caches %s%n", machine.cores(),
                    machine.memoryBytes() / 1e9, describe(machine.cacheBytes())));
            b.append(String.format(Locale.ROOT, "%-14s %14s %10s %8s %16s %18s%n", "plan", "unique params", "weights MB",
                    "fits in", "batch 1 ms", "batch 16 records/s"));
            for (final Plan p : plans) {
                b.append(String.format(Locale.ROOT, "%-14s %,14d %10.1f %8s %16.2f %18.1f%n", p.name(),
                        p.uniqueParameters(), p.weightBytes() / 1e6, p.fitsIn(), p.latencyMs(), p.recordsPerSecond()));
            }
            b.append(String.format(Locale.ROOT, "recommended for %s: %s (%s)%n", goal.name().toLowerCase(Locale.ROOT),
                    recommended, why));
            return b.toString();
        }
    }

    private PlanAdvisor() {
    }

    /** @return this machine, from /proc and /sys (Linux); caches absent elsewhere */
    public static Machine machine() {
        final Map<String, Long> caches = new LinkedHashMap<>();
        final Path cpu = Path.of("/sys/devices/system/cpu/cpu0/cache");
        if (Files.isDirectory(cpu)) {
            try (Stream<Path> dirs = Files.list(cpu)) {
                for (final Path d : dirs.filter(p -> p.getFileName().toString().startsWith("index")).sorted().toList()) {
                    final String type = read(d.resolve("type"));
                    final String level = read(d.resolve("level"));
                    final long size = bytes(read(d.resolve("size")));
                    if (type == null || level == null || size <= 0 || type.equals("Instruction")) {
                        continue;
                    }
                    caches.put(level.equals("1") ? "l1d" : "l" + level, size);
                }
            } catch (IOException e) {
                // Leave the caches out: the measurements still hold.
            }
        }
        long memory = Runtime.getRuntime().maxMemory();
        try {
            for (final String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    memory = bytes(line.substring("MemTotal:".length()).trim().replace(" kB", "K"));
                }
            }
        } catch (IOException e) {
            // The JVM's limit stands in.
        }
        return new Machine(Runtime.getRuntime().availableProcessors(), memory, caches);
    }

    /** Rank of the relaxed plan's deltas unless another is asked for. */
    public static final int DEFAULT_RELAX_RANK = 16;

    /**
     * @param config the architecture (its own plan is ignored)
     * @param relaxRank rank of the relaxed plan's deltas (0 = no relaxed plan)
     * @return the plans measured, as configs: none, 2, 3 and L/2 groups (cycle), all, and all relaxed with
     *     rank-r deltas; each distinct and valid for L
     */
    public static List<ModelConfig> plans(final ModelConfig config, final int relaxRank) {
        final List<SharingPlan> plans = new ArrayList<>(List.of(SharingPlan.NONE));
        for (final int groups : new int[] {config.numLayers() / 2, 3, 2}) {  // most groups first
            final SharingPlan p = SharingPlan.both(SharingStrategy.CYCLE, groups);
            if (groups > 1 && groups < config.numLayers() && !plans.contains(p)) {
                plans.add(p);
            }
        }
        plans.add(SharingPlan.ALL);
        final List<ModelConfig> configs = new ArrayList<>();
        for (final SharingPlan p : plans) {
            configs.add(config.withPlan(p));
        }
        if (relaxRank > 0 && config.numLayers() > 1) {
            configs.add(config.withPlan(SharingPlan.ALL).withRelaxRank(relaxRank));
        }
        return configs;
    }

    /**
     * Measures every plan and recommends one.
     *
     * @param config the architecture
     * @param relaxRank rank of the relaxed plan's deltas (0 = no relaxed plan)
     * @param tokens tokens per sequence
     * @param repetitions timed rounds per figure
     * @param goal what to recommend for
     * @param work scratch space for the model directories
     * @param log progress
     * @return the advice
     * @throws IOException when a model cannot be written or read
     */
    public static Advice advise(final ModelConfig config, final int relaxRank, final int tokens,
            final int repetitions, final Goal goal, final Path work, final PrintStream log) throws IOException {
        final Machine machine = machine();
        final List<Plan> plans = new ArrayList<>();
        final ModelBenchmark.Layout latencyLayout = new ModelBenchmark.Layout(1, machine.cores());
        final ModelBenchmark.Layout servingLayout = new ModelBenchmark.Layout(machine.cores(), 1);
        final List<ModelBenchmark.Variant> variants = new ArrayList<>();
        final Map<String, ParameterStats> stats = new LinkedHashMap<>();
        for (final ModelConfig plan : plans(config, relaxRank)) {
            final String name = name(plan);
            final Path dir = work.resolve(name.replaceAll("[^a-z0-9]+", "-"));
            log.printf("plan %s: building%n", name);
            final Checkpoint checkpoint = Checkpoint.random(plan, 7);
            checkpoint.save(dir);
            stats.put(name, ParameterStats.of(checkpoint));
            variants.add(new ModelBenchmark.Variant(name, dir, InferenceEngine.ONNXRUNTIME));
        }
        // Every plan in one run per layout, timed in alternation: the machine's noise falls on all alike.
        log.printf("measuring batch 1 on %s and batch 16 on %s, %d rounds each%n", latencyLayout.label(),
                servingLayout.label(), repetitions);
        final ModelBenchmark.Result one = ModelBenchmark.run(variants, List.of(latencyLayout), List.of(1), tokens,
                repetitions);
        final ModelBenchmark.Result sixteen = ModelBenchmark.run(variants, List.of(servingLayout), List.of(16), tokens,
                repetitions);
        for (final Map.Entry<String, ParameterStats> e : stats.entrySet()) {
            final long bytes = e.getValue().totalBytes();
            plans.add(new Plan(e.getKey(), e.getValue().uniqueParameters(), bytes, fitsIn(bytes, machine.cacheBytes()),
                    1000.0 / one.row(e.getKey(), latencyLayout, 1).recordsPerSecond(),
                    sixteen.row(e.getKey(), servingLayout, 16).recordsPerSecond()));
        }
        return recommend(machine, tokens, plans, goal);
    }

    /**
     * The rule: latency picks the fastest batch-1 pass, throughput the most records/s at batch 16,
     * memory the smallest weights within 10 % of the best throughput.
     */
    static Advice recommend(final Machine machine, final int tokens, final List<Plan> plans, final Goal goal) {
        final double best = plans.stream().mapToDouble(Plan::recordsPerSecond).max().orElse(0);
        final Plan chosen = switch (goal) {
            case LATENCY -> plans.stream().min(java.util.Comparator.comparingDouble(Plan::latencyMs)).orElseThrow();
            case THROUGHPUT -> plans.stream().max(java.util.Comparator.comparingDouble(Plan::recordsPerSecond))
                    .orElseThrow();
            case MEMORY -> plans.stream().filter(p -> p.recordsPerSecond() >= 0.9 * best)
                    .min(java.util.Comparator.comparingLong(Plan::weightBytes)).orElseThrow();
        };
        final String why = switch (goal) {
            case LATENCY -> String.format(Locale.ROOT, "the lowest batch-1 latency, %.2f ms", chosen.latencyMs());
            case THROUGHPUT -> String.format(Locale.ROOT, "the most records/s at batch 16, %.1f",
                    chosen.recordsPerSecond());
            case MEMORY -> String.format(Locale.ROOT, "the smallest weights (%.1f MB) within 10 %% of the best"
                    + " throughput (%.1f of %.1f records/s)", chosen.weightBytes() / 1e6, chosen.recordsPerSecond(), best);
        };
        return new Advice(machine, tokens, plans, goal, chosen.name(), why);
    }

    static String name(final ModelConfig config) {
        final SharingPlan plan = config.plan();
        if (config.relaxRank() > 0) {
            return "all + rank " + config.relaxRank() + " deltas";
        }
        if (plan.equals(SharingPlan.NONE)) {
            return "none";
        }
        if (plan.equals(SharingPlan.ALL)) {
            return "all";
        }
        return plan.attentionGroups() + " groups";
    }

    static String fitsIn(final long bytes, final Map<String, Long> caches) {
        for (final String level : List.of("l2", "l3")) {
            final Long size = caches.get(level);
            if (size != null && bytes <= size) {
                return level.toUpperCase(Locale.ROOT);
            }
        }
        return "memory";
    }

    private static String describe(final Map<String, Long> caches) {
        if (caches.isEmpty()) {
            return "unknown";
        }
        final StringBuilder b = new StringBuilder();
        caches.forEach((k, v) -> b.append(b.length() == 0 ? "" : ", ").append(k.toUpperCase(Locale.ROOT)).append(' ')
                .append(v >= 1 << 20 ? (v >> 20) + " MB" : (v >> 10) + " KB"));
        return b.toString();
    }

    private static String read(final Path file) {
        try {
            return Files.readString(file).trim();
        } catch (IOException e) {
            return null;
        }
    }

    /** "512K", "32768K", "1M", "24596612K" to bytes. */
    static long bytes(final String text) {
        if (text == null || text.isEmpty()) {
            return -1;
        }
        final char unit = Character.toUpperCase(text.charAt(text.length() - 1));
        final long scale = unit == 'K' ? 1L << 10 : unit == 'M' ? 1L << 20 : unit == 'G' ? 1L << 30 : 1;
        final String digits = Character.isDigit(unit) ? text : text.substring(0, text.length() - 1).trim();
        try {
            return Long.parseLong(digits) * scale;
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
