package dev.streamformer.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

import com.google.gson.GsonBuilder;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import dev.streamformer.bench.PlanAdvisor;
import dev.streamformer.model.ModelConfig;

/** {@code streamformer model plan}. */
@Command(name = "plan",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {"Choose the sharing granularity for this machine: read its cores, L2 and L3 caches (/sys) and"
                + " memory; build the architecture of --config with each plan (none, 2, 3 and L/2 groups as cycle, all,"
                + " all relaxed with rank --relax-rank deltas per layer;"
                + " seeded random weights run as fast as trained ones); measure forward latency at batch 1 (one caller"
                + " on every core) and records/s at batch 16 (one caller per core, as the processor serves) on ONNX"
                + " Runtime; set each plan's weights beside the caches; recommend a plan for --goal.",
            "Progress goes to stderr; the table (or --json: cache, plans, recommended) to stdout."})
final class ModelPlanCommand implements Callable<Integer> {

    @Option(names = "--config", required = true, paramLabel = "<config.json>",
            description = "The architecture (a config.json or a model directory); its own sharing plan is ignored.")
    private Path config;

    @Option(names = "--goal", defaultValue = "throughput",
            description = "latency (batch 1), throughput (batch 16) or memory (the smallest weights within 10 %% of the"
                    + " best throughput) (default: ${DEFAULT-VALUE}).")
    private String goal;

    @Option(names = "--relax-rank", defaultValue = "" + PlanAdvisor.DEFAULT_RELAX_RANK, paramLabel = "<r>",
            description = "Rank of the relaxed plan's per-layer deltas (`model share --relax-rank`); 0 leaves the relaxed"
                    + " plan out (default: ${DEFAULT-VALUE}).")
    private int relaxRank;

    @Option(names = "--tokens", defaultValue = "128", description = "Tokens per sequence (default: ${DEFAULT-VALUE}).")
    private int tokens;

    @Option(names = "--repetitions", defaultValue = "5",
            description = "Timed rounds per figure, the median reported (default: ${DEFAULT-VALUE}).")
    private int repetitions;

    @Option(names = "--json", description = "Print JSON.")
    private boolean json;

    @Override
    public Integer call() throws Exception {
        final PlanAdvisor.Goal g;
        try {
            g = PlanAdvisor.Goal.valueOf(goal.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--goal is latency, throughput or memory, not '" + goal + "'");
        }
        final ModelConfig c = ModelConfig.read(config);
        if (relaxRank < 0) {
            throw new IllegalArgumentException("--relax-rank must be 0 (no relaxed plan) or positive, got " + relaxRank);
        }
        if (tokens < 1 || tokens > c.maxPositions()) {
            throw new IllegalArgumentException("--tokens must be 1-" + c.maxPositions() + " (max_position_embeddings)");
        }
        final Path work = Files.createTempDirectory("streamformer-plan-");
        try {
            final PlanAdvisor.Advice advice = PlanAdvisor.advise(c, relaxRank, tokens, repetitions, g, work, System.err);
            System.out.print(json ? new GsonBuilder().setPrettyPrinting().create().toJson(advice.toMap()) + "\n"
                    : advice.toTable());
        } finally {
            try (var walk = Files.walk(work)) {
                for (final Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
        return 0;
    }
}
