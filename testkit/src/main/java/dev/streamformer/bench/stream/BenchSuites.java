package dev.streamformer.bench.stream;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToLongFunction;

import org.apache.kafka.streams.StreamsConfig;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;

import com.google.gson.GsonBuilder;

import dev.streamformer.stream.KafkaDefaults;
import dev.streamformer.bench.MemoryProbe;
import dev.streamformer.bench.ModelBenchmark;
import dev.streamformer.compress.Quantize;
import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.DefaultModel;
import dev.streamformer.model.EngineSettings;
import dev.streamformer.model.ExitHeads;
import dev.streamformer.model.ExitPolicy;
import dev.streamformer.model.InferenceEngine;
import dev.streamformer.model.InferenceModel;
import dev.streamformer.model.ParameterStats;
import dev.streamformer.model.SharingPlan;
import dev.streamformer.stream.StreamformerApp;
import dev.streamformer.stream.StreamformerConfig;
import dev.streamformer.corpus.DemoSample;

/**
 * Runs the suites in one process so their figures can be compared, prints the tables, and writes
 * {@code bench.json} (every figure and setting) and the charts.
 */
public final class BenchSuites {

    /**
     * What to run.
     *
     * @param model the model suite
     * @param pipeline the pipeline suite (needs a broker)
     * @param memory the memory suite (needs a broker)
     * @param intraOpThreads intra-op threads of the model suite
     * @param batches batch sizes of the model suite and the pipeline batch sweep
     * @param length tokens per request
     * @param repetitions timed runs per model-suite figure
     * @param records requests per saturated pipeline run
     * @param pacedRecords requests of the paced run
     * @param maxWaitMs the processor's batch wait in every pipeline run
     * @param memoryThreads stream thread counts of the memory suite
     * @param modelOnlySeconds how long each pipeline run's model-only figure is measured
     * @param malloc glibc allocator settings of the memory suite's processor JVMs
     * @param pipelineRepetitions how many times the default and the one-thread runs are repeated, alternating;
     *     their ratios are medians over the repetitions
     * @param engine the engine of the pipeline and memory suites (the model suite compares both)
     * @param processorProperties processor properties set over the defaults in every pipeline run (the previous
     *     default keeps its own commit interval)
     */
    public record Plan(boolean model, boolean pipeline, boolean memory, int intraOpThreads, List<Integer> batches,
            int length, int repetitions, int records, int pacedRecords, long maxWaitMs, List<Integer> memoryThreads,
            int modelOnlySeconds, String malloc, int pipelineRepetitions, InferenceEngine engine,
            Map<String, String> processorProperties) {

        /** The plan without processor properties of the user's. */
        public Plan(final boolean model, final boolean pipeline, final boolean memory, final int intraOpThreads,
                final List<Integer> batches, final int length, final int repetitions, final int records,
                final int pacedRecords, final long maxWaitMs, final List<Integer> memoryThreads,
                final int modelOnlySeconds, final String malloc, final int pipelineRepetitions,
                final InferenceEngine engine) {
            this(model, pipeline, memory, intraOpThreads, batches, length, repetitions, records, pacedRecords,
                    maxWaitMs, memoryThreads, modelOnlySeconds, malloc, pipelineRepetitions, engine, Map.of());
        }

        /** Copies the properties. */
        public Plan {
            processorProperties = Map.copyOf(processorProperties);
        }
    }

    private static final int PARTITIONS = 4;
    /**
     * The serving default before ONNX Runtime: pytorch, 2 stream threads x 1 intra-op thread, batch 16, and
     * Kafka's exactly-once commit interval of 100 ms.
     */
    private static final int PREVIOUS_DEFAULT_BATCH = 16;
    private static final String PREVIOUS_DEFAULT_COMMIT_INTERVAL_MS = "100";
    private static final String PREVIOUS_DEFAULT_NAME = "previous default: pytorch 2x1 batch 16, commit 100 ms";
    private static final int MEMORY_RECORDS_PER_THREAD = 24;

    private final Plan plan;
    private final Path modelDir;
    private final Path work;
    private final PrintStream out;
    private final Map<String, Object> json = new LinkedHashMap<>();
    private final Map<String, Double> ratios = new LinkedHashMap<>();
    private final Map<String, double[]> spreads = new LinkedHashMap<>();

    /**
     * @param plan what to run
     * @param modelDir the model
     * @param work scratch space (state directories, the plan-none baseline model)
     * @param out where the tables go
     */
    public BenchSuites(final Plan plan, final Path modelDir, final Path work, final PrintStream out) {
        this.plan = plan;
        this.modelDir = modelDir;
        this.work = work;
        this.out = out;
    }

    /**
     * Runs the planned suites.
     *
     * @param bootstrap the broker for the pipeline and memory suites, null when neither runs
     * @param outDir where bench.json and the charts go
     * @return every figure, as written to bench.json
     * @throws Exception when a suite fails
     */
    public Map<String, Object> run(final String bootstrap, final Path outDir) throws Exception {
        Files.createDirectories(outDir);
        try (InferenceModel m = InferenceModel.load(modelDir, EngineSettings.of(plan.engine(), 1))) {
            json.put("date", Instant.now().toString());
            json.put("model", m.name());
            json.put("model_version", m.version());
            json.put("plan", m.config().plan().describe());
            json.put("unique_parameters", m.stats().uniqueParameters());
            json.put("weights_bytes", m.stats().totalBytes());
            json.put("engine", plan.engine().configName());
            json.put("tokens_per_request", plan.length());
            json.put("processing_guarantee", "exactly_once_v2");
            json.put("jvm", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
            json.put("cpus", Runtime.getRuntime().availableProcessors());
            json.put("cpu_model", cpuModel());
            final Map<String, String> allocator = new LinkedHashMap<>();
            System.getenv().forEach((k, v) -> {
                if (k.startsWith("MALLOC_") || "LD_PRELOAD".equals(k)) {
                    allocator.put(k, v);
                }
            });
            json.put("allocator_of_this_process", allocator);
            out.printf("model %s (%s), %,d unique parameters, %d tokens per request, %d cores%n", m.name(),
                    m.config().plan().describe(), m.stats().uniqueParameters(), plan.length(),
                    Runtime.getRuntime().availableProcessors());
            ModelBenchmark.Result modelResult = null;
            if (plan.model()) {
                modelResult = modelSuite(m);
            }
            List<PipelineBenchmark.Run> runs = List.of();
            if (plan.pipeline()) {
                runs = pipelineSuite(m, bootstrap);
            }
            List<MemoryBenchmark.Point> memory = List.of();
            if (plan.memory()) {
                memory = memorySuite(m, bootstrap);
            }
            json.put("ratios", ratios);
            out.println();
            out.println("== ratios (targets in docs/BENCHMARKS.md)");
            ratios.forEach((k, v) -> out.printf(Locale.ROOT, "  %-52s %6.2f%s%n", k, v, spreads.containsKey(k)
                    ? String.format(Locale.ROOT, "  (%.2f-%.2f over %d runs)", spreads.get(k)[0], spreads.get(k)[1],
                            plan.pipelineRepetitions()) : ""));
            json.put("ratio_spreads_min_max", spreads);
            Files.writeString(outDir.resolve("bench.json"), new GsonBuilder().setPrettyPrinting()
                    .serializeSpecialFloatingPointValues().create().toJson(json));
            charts(modelResult, runs, memory, outDir);
            out.printf("wrote %s and charts%n", outDir.resolve("bench.json"));
        }
        return json;
    }

    private ModelBenchmark.Result modelSuite(final InferenceModel m) throws Exception {
        out.println();
        final int cores = Runtime.getRuntime().availableProcessors();
        final ModelBenchmark.Layout serving = new ModelBenchmark.Layout(Math.max(1, cores / plan.intraOpThreads()),
                plan.intraOpThreads());
        final ModelBenchmark.Layout oneCaller = new ModelBenchmark.Layout(1, cores);
        final List<ModelBenchmark.Layout> layouts = serving.equals(oneCaller) ? List.of(serving)
                : List.of(serving, oneCaller);
        out.printf("== model: the forward pass on both engines beside both fp32 matmul ceilings, %s callers x intra-op"
                + " threads, all timed in alternation%n", layouts.stream().map(ModelBenchmark.Layout::label).toList());
        final ModelBenchmark.Result result = ModelBenchmark.run(List.of(
                ModelBenchmark.Variant.of(modelDir, InferenceEngine.ONNXRUNTIME),
                ModelBenchmark.Variant.of(modelDir, InferenceEngine.PYTORCH)), layouts,
                plan.batches(), plan.length(), plan.repetitions());
        out.print(result.toTable());
        final Map<String, Object> section = new LinkedHashMap<>(result.toMap());
        for (final ModelBenchmark.Layout layout : layouts) {
            result.rows().stream().filter(r -> r.layout().equals(layout.label()) && r.batch() >= 8
                    && r.engine().equals(InferenceEngine.DEFAULT.configName()))
                    .mapToDouble(ModelBenchmark.Row::ofOnnxCeiling).max()
                    .ifPresent(best -> ratios.put(InferenceEngine.DEFAULT + " best batch >= 8 / ONNX Runtime ceiling ("
                            + layout.label() + ")", best));
            final ModelBenchmark.Row onnx = result.row(InferenceEngine.ONNXRUNTIME.configName(), layout, 1);
            final ModelBenchmark.Row torch = result.row(InferenceEngine.PYTORCH.configName(), layout, 1);
            if (onnx != null && torch != null) {
                ratios.put("onnxruntime / pytorch, batch 1 (" + layout.label() + ")",
                        onnx.recordsPerSecond() / torch.recordsPerSecond());
            }
        }
        final ModelBenchmark.BucketRow buckets = ModelBenchmark.lengthBuckets(m, 16, plan.length(), plan.repetitions());
        section.put("length_buckets", buckets);
        out.printf(Locale.ROOT, "length buckets (%s, 1 intra-op thread): a batch of %d requests of %s tokens, one padded"
                + " pass %.1f ms, one pass per bucket %s %.1f ms (%.2fx)%n", m.engine(), buckets.batch(),
                Math.min(8, buckets.maxLength()) + "-" + buckets.maxLength(),
                buckets.paddedSeconds() * 1e3, buckets.buckets(), buckets.bucketedSeconds() * 1e3,
                buckets.paddedSeconds() / buckets.bucketedSeconds());
        ratios.put("padded batch / length buckets, mixed lengths", buckets.paddedSeconds() / buckets.bucketedSeconds());
        // Baseline b: the same dimensions with no sharing; and what each engine holds in memory for either.
        final Path none = work.resolve("plan-none");
        Checkpoint.random(m.config().withPlan(SharingPlan.NONE), DefaultModel.SEED).save(none);
        final ModelBenchmark.Result b = ModelBenchmark.run(List.of(ModelBenchmark.Variant.of(none,
                InferenceEngine.DEFAULT)), List.of(serving), List.of(8), plan.length(), plan.repetitions());
        final ModelBenchmark.Row b8 = b.rows().get(0);
        final Map<String, Object> baseline = new LinkedHashMap<>();
        baseline.put("unique_parameters", ParameterStats.of(Checkpoint.load(none)).uniqueParameters());
        baseline.put("weights_bytes", ParameterStats.of(Checkpoint.load(none)).totalBytes());
        baseline.put("batch8_records_per_second", b8.recordsPerSecond());
        baseline.put("batch8_of_onnx_ceiling", b8.ofOnnxCeiling());
        section.put("baseline_plan_none", baseline);
        out.printf(Locale.ROOT, "baseline b, plan none (same dimensions, %.1f MB of weights): batch 8 on %s %s %.1f"
                + " records/s (%.0f %% of its run's ONNX Runtime ceiling)%n",
                ParameterStats.of(Checkpoint.load(none)).totalBytes() / 1e6, serving.label(), b8.engine(),
                b8.recordsPerSecond(), 100 * b8.ofOnnxCeiling());
        section.put("int8", int8(serving));
        section.put("resident_memory", residentMemory(none));
        json.put("model_suite", section);
        return result;
    }

    /**
     * The model quantized to int8 ({@code model quantize}) against its fp32 self on ONNX Runtime,
     * timed in alternation: where int8 matrix products pay depends on the CPU (VNNI and AMX
     * instructions multiply int8 at 4x the fp32 rate; plain AVX2 does not).
     */
    private Map<String, Object> int8(final ModelBenchmark.Layout serving) throws Exception {
        final Path int8 = work.resolve("int8");
        Quantize.int8(Checkpoint.load(modelDir)).save(int8);
        final String fp32Label = "fp32";
        final String int8Label = "int8";
        final ModelBenchmark.Result r = ModelBenchmark.run(List.of(
                new ModelBenchmark.Variant(fp32Label, modelDir, InferenceEngine.ONNXRUNTIME),
                new ModelBenchmark.Variant(int8Label, int8, InferenceEngine.ONNXRUNTIME)), List.of(serving),
                List.of(1, 8), plan.length(), plan.repetitions());
        final String flags = cpuFlags();
        out.printf(Locale.ROOT, "int8 against fp32 on onnxruntime, %s (CPU int8 instructions: %s):%n", serving.label(),
                flags.isEmpty() ? "none of VNNI/AMX" : flags);
        final Map<String, Object> section = new LinkedHashMap<>();
        for (final int batch : List.of(1, 8)) {
            final ModelBenchmark.Row a = r.row(fp32Label, serving, batch);
            final ModelBenchmark.Row q = r.row(int8Label, serving, batch);
            out.printf(Locale.ROOT, "  batch %d: fp32 %.1f records/s, int8 %.1f records/s (%.2fx)%n", batch,
                    a.recordsPerSecond(), q.recordsPerSecond(), q.recordsPerSecond() / a.recordsPerSecond());
            ratios.put("int8 / fp32 on onnxruntime, batch " + batch + " (" + serving.label() + ")",
                    q.recordsPerSecond() / a.recordsPerSecond());
        }
        section.put("cpu_int8_flags", flags);
        section.put("rows", r.rows());
        return section;
    }

    /** @return the CPU's VNNI and AMX flags, space-separated, or "unknown" */
    private static String cpuFlags() {
        final List<String> flags = dev.streamformer.engine.onnx.internals.Int8Products.cpuFlags();
        return flags == null ? "unknown" : flags.stream().filter(f -> f.contains("vnni") || f.startsWith("amx"))
                .sorted().collect(java.util.stream.Collectors.joining(" "));
    }

    /**
     * Resident memory of a fresh JVM that loads one model and runs ten batches of 8, for the shared
     * model and the plan-none baseline, on each engine, and on ONNX Runtime with weight prepacking
     * off: what each engine holds beside the weights' file size, and whether prepacking copies a
     * shared initializer for every node that uses it (then the shared model's load would cost as
     * much as the plan-none model's).
     */
    private List<Map<String, Object>> residentMemory(final Path none) throws Exception {
        out.println("resident memory of a JVM serving one model (10 batches of 8 x 128 tokens, 2 intra-op threads;"
                + " median of 3 fresh JVMs):");
        final List<Map<String, Object>> points = new ArrayList<>();
        for (final Path dir : List.of(modelDir, none)) {
            final long weights = ParameterStats.of(Checkpoint.load(dir)).totalBytes();
            for (final String variant : List.of("onnxruntime", "onnxruntime-no-prepacking", "pytorch")) {
                final long[] rss = medianProbe(dir, InferenceEngine.parse(variant.split("-")[0]),
                        !variant.endsWith("no-prepacking"));
                final Map<String, Object> p = new LinkedHashMap<>();
                p.put("model", dir.equals(none) ? "plan none" : "shared");
                p.put("weights_bytes", weights);
                p.put("engine", variant);
                p.put("resident_bytes_before_load", rss[0]);
                p.put("resident_bytes_after_load", rss[1]);
                p.put("resident_bytes_after_batches", rss[2]);
                points.add(p);
                out.printf(Locale.ROOT, "  %-10s (weights %5.1f MB) %-26s RSS %6.1f MB; the load added %5.1f MB, ten"
                        + " batches %5.1f MB more%n", p.get("model"), weights / 1e6, variant, rss[2] / 1e6,
                        (rss[1] - rss[0]) / 1e6, (rss[2] - rss[1]) / 1e6);
            }
        }
        return points;
    }

    private List<PipelineBenchmark.Run> pipelineSuite(final InferenceModel m, final String bootstrap) throws Exception {
        out.println();
        out.printf("== pipeline: through the broker, outputs committed (exactly_once_v2), %d partitions, on %s%n",
                PARTITIONS, plan.engine());
        final PipelineBenchmark bench = new PipelineBenchmark(bootstrap, m, modelDir, work.resolve("state"),
                plan.length(), PARTITIONS, Duration.ofSeconds(plan.modelOnlySeconds()), out, plan.processorProperties());
        final String topic = bench.prefill(plan.records());
        final long wait = plan.maxWaitMs();
        final List<PipelineBenchmark.Run> runs = new ArrayList<>();
        final StreamformerConfig defaults = new StreamformerConfig(KafkaDefaults.properties());
        final int streamThreads = Integer.parseInt(KafkaDefaults.properties().getProperty(
                StreamsConfig.NUM_STREAM_THREADS_CONFIG));
        final int intraOp = defaults.getInt(StreamformerConfig.INTRA_OP_THREADS_CONFIG);
        final int defaultBatch = defaults.getInt(StreamformerConfig.BATCH_SIZE_CONFIG);
        final String name = String.format(Locale.ROOT, "default %dx%d batch %d", streamThreads, intraOp, defaultBatch);
        // A first run compiles the hot paths of the processor, the clients and the broker; measured runs
        // that share the cores with the JIT compiler lose up to a tenth of their throughput.
        bench.saturated(new PipelineBenchmark.Settings("warm-up (not reported)", streamThreads, intraOp, defaultBatch,
                wait, false), topic, plan.records());
        // The runs behind the two ratios that compare runs, repeated in alternation: a single pair of runs
        // moves by 20 % on this kind of machine.
        final List<PipelineBenchmark.Run> defaultRuns = new ArrayList<>();
        final List<PipelineBenchmark.Run> oneThreadRuns = new ArrayList<>();
        // The default before the ONNX Runtime engine (issue 11's "today's default"): the PyTorch engine, 2 stream
        // threads of one intra-op thread, batches of 16.
        final InferenceEngine otherEngine = InferenceEngine.PYTORCH;
        InferenceModel other = null;
        try {
            other = InferenceModel.load(modelDir, EngineSettings.of(otherEngine, 1));
        } catch (IllegalArgumentException e) {
            out.println("  (no run on " + otherEngine + ": " + e.getMessage() + ")");
        }
        final List<PipelineBenchmark.Run> otherRuns = new ArrayList<>();
        try {
            final Map<String, String> previous = new LinkedHashMap<>(plan.processorProperties());
            previous.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, PREVIOUS_DEFAULT_COMMIT_INTERVAL_MS);
            final PipelineBenchmark otherBench = other == null ? null : new PipelineBenchmark(bootstrap, other, modelDir,
                    work.resolve("state"), plan.length(), PARTITIONS, Duration.ofSeconds(plan.modelOnlySeconds()), out,
                    previous);
            for (int r = 1; r <= plan.pipelineRepetitions(); r++) {
                final String repetition = plan.pipelineRepetitions() > 1 ? " #" + r : "";
                defaultRuns.add(bench.saturated(new PipelineBenchmark.Settings(name + repetition, streamThreads,
                        intraOp, defaultBatch, wait, false), topic, plan.records()));
                oneThreadRuns.add(bench.saturated(new PipelineBenchmark.Settings("1x1 batch " + defaultBatch
                        + repetition, 1, 1, defaultBatch, wait, false), topic, plan.records()));
                if (otherBench != null) {
                    otherRuns.add(otherBench.saturated(new PipelineBenchmark.Settings(PREVIOUS_DEFAULT_NAME
                            + repetition, 2, 1, PREVIOUS_DEFAULT_BATCH, wait, false), topic, plan.records()));
                }
            }
        } finally {
            if (other != null) {
                other.close();
            }
        }
        runs.addAll(defaultRuns);
        runs.addAll(oneThreadRuns);
        runs.addAll(otherRuns);
        final PipelineBenchmark.Run ours = medianBy(defaultRuns, PipelineBenchmark.Run::recordsPerSecond);
        for (final int batch : plan.batches()) {
            if (batch != defaultBatch) {
                runs.add(bench.saturated(new PipelineBenchmark.Settings("2x1 batch " + batch, 2, 1, batch, wait, false),
                        topic, plan.records()));
            }
        }
        runs.add(bench.saturated(new PipelineBenchmark.Settings("1x2 batch " + defaultBatch, 1, 2, defaultBatch, wait,
                false), topic, plan.records()));
        final PipelineBenchmark.Run baseline = bench.saturated(new PipelineBenchmark.Settings(
                "baseline a: 2x1 batch 1, copy per task", 2, 1, 1, wait, true), topic, plan.records());
        runs.add(baseline);
        // The usual design as it ships: Kafka Streams' default of one stream thread, the engine's default of
        // one intra-op thread per core.
        final int cores = Runtime.getRuntime().availableProcessors();
        final PipelineBenchmark.Run usual = bench.saturated(new PipelineBenchmark.Settings(
                "baseline a: 1x" + cores + " batch 1, copy per task", 1, cores, 1, wait, true), topic, plan.records());
        runs.add(usual);
        final double half = ours.recordsPerSecond() / 2;
        final PipelineBenchmark.Run paced = bench.paced(new PipelineBenchmark.Settings("default, paced at half",
                streamThreads, intraOp, defaultBatch, wait, false), plan.pacedRecords(), half);
        runs.add(paced);

        out.println();
        out.printf("%-40s %9s %10s %9s %7s %10s %10s %10s %10s %5s %5s%n", "run", "records/s", "model-only", "of model",
                "batch", "proc p50", "proc p99", "infer p50", "visib p99", "dup", "miss");
        for (final PipelineBenchmark.Run r : runs) {
            out.printf(Locale.ROOT, "%-40s %9.1f %10.1f %8.0f%% %7d %10.1f %10.1f %10.1f %10s %5d %5d%n",
                    r.settings().name() + (r.paceRecordsPerSecond() > 0 ? String.format(Locale.ROOT, " (%.0f/s)",
                            r.paceRecordsPerSecond()) : ""),
                    r.recordsPerSecond(), r.modelOnlyRecordsPerSecond(), 100 * r.ofModelOnly(), r.settings().batchSize(),
                    r.latencyMs().get("processing").get("p50"), r.latencyMs().get("processing").get("p99"),
                    r.latencyMs().get("inference").get("p50"), r.paceRecordsPerSecond() > 0
                            ? String.format(Locale.ROOT, "%.1f", r.latencyMs().get(PipelineBenchmark.VISIBLE).get("p99"))
                            : "-",
                    r.duplicates(), r.missing());
        }
        final List<Double> ofModelOnly = defaultRuns.stream().map(PipelineBenchmark.Run::ofModelOnly).toList();
        final List<Double> scaling = new ArrayList<>();
        for (int r = 0; r < defaultRuns.size(); r++) {
            scaling.add(defaultRuns.get(r).recordsPerSecond() / oneThreadRuns.get(r).recordsPerSecond());
        }
        putMedian("pipeline / model-only (" + name + ")", ofModelOnly);
        putMedian(streamThreads + " stream threads / 1 (batch " + defaultBatch + ")", scaling);
        if (!otherRuns.isEmpty()) {
            final List<Double> byEngine = new ArrayList<>();
            for (int r = 0; r < defaultRuns.size(); r++) {
                byEngine.add(defaultRuns.get(r).recordsPerSecond() / otherRuns.get(r).recordsPerSecond());
            }
            putMedian(name + " on " + plan.engine() + " / " + PREVIOUS_DEFAULT_NAME, byEngine);
        }
        ratios.put("paced p99 processing / median full-batch inference",
                paced.latencyMs().get("processing").get("p99") / ours.modelOnlyBatchMs());
        ratios.put("default / baseline a, same threads (2x1)", ours.recordsPerSecond() / baseline.recordsPerSecond());
        ratios.put("default / baseline a, library defaults (1x" + cores + ")",
                ours.recordsPerSecond() / usual.recordsPerSecond());
        json.put("pipeline_suite", Map.of("partitions", PARTITIONS, "max_wait_ms", wait, "runs", runs));
        if (m.config().exits() != ExitHeads.NONE) {
            // In bench.json and the table, not in the charts: they plot the suite's own runs by setting.
            exitsPipeline(m, bootstrap, name, streamThreads, intraOp, defaultBatch);
        }
        return runs;
    }

    /**
     * A model with exit heads through the pipeline on real mail (the bundled sample), in alternation: the
     * same weights as one graph without exits at full depth (what serving was before exits), the
     * layer-by-layer engine at full depth, and early exit under the policy.
     */
    private List<PipelineBenchmark.Run> exitsPipeline(final InferenceModel m, final String bootstrap, final String name,
            final int streamThreads, final int intraOp, final int batch) throws Exception {
        final ExitPolicy policy = PipelineBenchmark.servedPolicy(m, plan.processorProperties());
        if (policy.kind() == ExitPolicy.Kind.NONE) {
            out.printf("%n(no early-exit runs: %s names no exit policy; give --exit)%n", modelDir);
            return List.of();
        }
        final List<int[]> mail = DemoSample.tokenized(modelDir, plan.length());
        final Path fullDepthDir = work.resolve("full-depth-single-graph");
        Checkpoint.load(modelDir).withExits(ExitHeads.NONE).save(fullDepthDir);
        out.println();
        out.printf("== pipeline with early exit: real mail (the bundled sample), %s, %s, in alternation%n", name, policy);
        final Map<String, String> none = new LinkedHashMap<>(plan.processorProperties());
        none.put(StreamformerConfig.EXIT_POLICY_CONFIG, ExitPolicy.NONE.toString());
        final Map<String, String> exiting = new LinkedHashMap<>(plan.processorProperties());
        exiting.put(StreamformerConfig.EXIT_POLICY_CONFIG, policy.toString());
        final List<PipelineBenchmark.Run> runs = new ArrayList<>();
        final List<Double> gains = new ArrayList<>();
        final List<Double> refillGains = new ArrayList<>();
        final List<Double> depths = new ArrayList<>();
        try (InferenceModel single = InferenceModel.load(fullDepthDir, EngineSettings.of(plan.engine(), 1))) {
            final PipelineBenchmark singleBench = new PipelineBenchmark(bootstrap, single, fullDepthDir,
                    work.resolve("state"), plan.length(), PARTITIONS, Duration.ofSeconds(plan.modelOnlySeconds()), out, none);
            final PipelineBenchmark layeredBench = new PipelineBenchmark(bootstrap, m, modelDir, work.resolve("state"),
                    plan.length(), PARTITIONS, Duration.ofSeconds(plan.modelOnlySeconds()), out, none);
            final PipelineBenchmark exitBench = new PipelineBenchmark(bootstrap, m, modelDir, work.resolve("state"),
                    plan.length(), PARTITIONS, Duration.ofSeconds(plan.modelOnlySeconds()), out, exiting);
            // Depth-wise refill in the processor: a pool of twice the batch, the batch's rows running at once.
            final java.util.function.IntFunction<PipelineBenchmark> refillBench = b -> {
                final Map<String, String> refilling = new LinkedHashMap<>(exiting);
                refilling.put(StreamformerConfig.EXIT_REFILL_POOL_CONFIG, Integer.toString(2 * b));
                return new PipelineBenchmark(bootstrap, m, modelDir, work.resolve("state"), plan.length(), PARTITIONS,
                        Duration.ofSeconds(plan.modelOnlySeconds()), out, refilling);
            };
            final String topic = exitBench.prefill(mail, plan.records());
            for (int r = 1; r <= plan.pipelineRepetitions(); r++) {
                final String repetition = plan.pipelineRepetitions() > 1 ? " #" + r : "";
                final PipelineBenchmark.Run full = singleBench.saturated(new PipelineBenchmark.Settings(
                        "mail, full depth, one graph" + repetition, streamThreads, intraOp, batch, plan.maxWaitMs(), false),
                        topic, plan.records());
                final PipelineBenchmark.Run layered = layeredBench.saturated(new PipelineBenchmark.Settings(
                        "mail, full depth, layered" + repetition, streamThreads, intraOp, batch, plan.maxWaitMs(), false),
                        topic, plan.records());
                final PipelineBenchmark.Run exit = exitBench.saturated(new PipelineBenchmark.Settings(
                        "mail, early exit" + repetition, streamThreads, intraOp, batch, plan.maxWaitMs(), false),
                        topic, plan.records());
                final PipelineBenchmark.Run refill = refillBench.apply(batch).saturated(new PipelineBenchmark.Settings(
                        "mail, early exit, refill pool " + 2 * batch + repetition, streamThreads, intraOp, batch,
                        plan.maxWaitMs(), false), topic, plan.records());
                runs.addAll(List.of(full, layered, exit, refill));
                gains.add(exit.recordsPerSecond() / full.recordsPerSecond());
                refillGains.add(refill.recordsPerSecond() / exit.recordsPerSecond());
                depths.add(exit.meanLayersRun());
            }
            // Once each: the other batch sizes, and every core on one caller.
            final int cores = Runtime.getRuntime().availableProcessors();
            for (final int[] layout : List.of(new int[] {streamThreads, intraOp}, new int[] {1, cores})) {
                for (final int b : plan.batches()) {
                    if (layout[0] == streamThreads && layout[1] == intraOp && b == batch) {
                        continue;
                    }
                    final String at = String.format(Locale.ROOT, "mail %dx%d batch %d, ", layout[0], layout[1], b);
                    runs.add(singleBench.saturated(new PipelineBenchmark.Settings(at + "full depth, one graph", layout[0],
                            layout[1], b, plan.maxWaitMs(), false), topic, plan.records()));
                    runs.add(layeredBench.saturated(new PipelineBenchmark.Settings(at + "full depth, layered", layout[0],
                            layout[1], b, plan.maxWaitMs(), false), topic, plan.records()));
                    runs.add(exitBench.saturated(new PipelineBenchmark.Settings(at + "early exit", layout[0], layout[1], b,
                            plan.maxWaitMs(), false), topic, plan.records()));
                    runs.add(refillBench.apply(b).saturated(new PipelineBenchmark.Settings(at + "early exit, refill pool "
                            + 2 * b, layout[0], layout[1], b, plan.maxWaitMs(), false), topic, plan.records()));
                }
            }
        }
        out.printf("%-40s %9s %11s %11s %5s %5s%n", "run", "records/s", "mean layers", "vs one graph", "dup", "miss");
        double oneGraph = Double.NaN;
        for (final PipelineBenchmark.Run r : runs) {
            oneGraph = r.settings().name().contains("one graph") ? r.recordsPerSecond() : oneGraph;
            out.printf(Locale.ROOT, "%-40s %9.1f %11.2f %10.2fx %5d %5d%n", r.settings().name(), r.recordsPerSecond(),
                    r.meanLayersRun(), r.recordsPerSecond() / oneGraph, r.duplicates(), r.missing());
        }
        putMedian("early exit / full depth, one graph, on mail (" + name + ")", gains);
        putMedian("early exit with refill pool " + 2 * batch + " / shrinking batches, on mail (" + name + ")", refillGains);
        json.put("exits_pipeline", Map.of("policy", policy.toString(), "runs", runs, "mean_layers", depths));
        return runs;
    }

    private List<MemoryBenchmark.Point> memorySuite(final InferenceModel m, final String bootstrap) throws Exception {
        out.println();
        final int maxThreads = plan.memoryThreads().stream().mapToInt(Integer::intValue).max().orElse(1);
        out.printf("== memory: RSS of a processor JVM (heap fixed at %s, pre-touched; %s) after processing and its"
                + " peak while processing, by stream threads, one partition per thread%n", MemoryBenchmark.HEAP,
                plan.malloc().isBlank() ? "glibc malloc defaults" : plan.malloc().replaceAll("LD_PRELOAD=\\S*/", "preloaded "));
        final Map<Integer, String> topics = new LinkedHashMap<>();
        for (final int threads : plan.memoryThreads()) {
            // One partition per stream thread, so that every thread runs one task (and, in the baseline, holds one copy).
            topics.put(threads, new PipelineBenchmark(bootstrap, m, modelDir, work.resolve("state"), plan.length(),
                    threads, Duration.ofSeconds(plan.modelOnlySeconds()), out).prefill(MEMORY_RECORDS_PER_THREAD * threads));
        }
        final List<MemoryBenchmark.Point> points = new ArrayList<>();
        for (final boolean copy : List.of(false, true)) {
            for (final int threads : plan.memoryThreads()) {
                final MemoryBenchmark.Point p = MemoryBenchmark.measure(bootstrap, topics.get(threads),
                        MEMORY_RECORDS_PER_THREAD * threads, modelDir, threads, copy, work.resolve("state"),
                        plan.malloc(), plan.engine());
                out.printf(Locale.ROOT, "  %-28s %2d threads: %7.1f MB after, %7.1f MB peak (%d model loads)%n",
                        copy ? "copy per task (baseline a)" : "shared model", threads, p.residentBytes() / 1e6,
                        p.peakResidentBytes() / 1e6, p.modelLoads());
                points.add(p);
            }
        }
        final double shared = growth(points, false, MemoryBenchmark.Point::residentBytes);
        final double copies = growth(points, true, MemoryBenchmark.Point::residentBytes);
        final double sharedPeak = growth(points, false, MemoryBenchmark.Point::peakResidentBytes);
        final double copiesPeak = growth(points, true, MemoryBenchmark.Point::peakResidentBytes);
        out.printf(Locale.ROOT, "  growth from %d to %d threads: after processing shared %.1f MB, copy per task %.1f MB;"
                + " peak shared %.1f MB, copy per task %.1f MB; weights %.1f MB%n", plan.memoryThreads().get(0),
                maxThreads, shared / 1e6, copies / 1e6, sharedPeak / 1e6, copiesPeak / 1e6,
                m.stats().totalBytes() / 1e6);
        final String range = plan.memoryThreads().get(0) + "->" + maxThreads;
        ratios.put("RSS growth " + range + " threads, shared / copy per task", shared / copies);
        ratios.put("peak RSS growth " + range + " threads, shared / copy", sharedPeak / copiesPeak);
        json.put("memory_suite", Map.of("heap", MemoryBenchmark.HEAP, "malloc", plan.malloc(),
                "points", points, "growth_shared_bytes", shared, "growth_copy_bytes", copies,
                "peak_growth_shared_bytes", sharedPeak, "peak_growth_copy_bytes", copiesPeak));
        return points;
    }

    /** The probe run three times: the run with the median load cost (resident memory moves by 5-10 MB run to run). */
    private static long[] medianProbe(final Path dir, final InferenceEngine engine, final boolean prepacking)
            throws Exception {
        final List<long[]> runs = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            runs.add(MemoryProbe.measure(dir, engine, prepacking));
        }
        runs.sort(java.util.Comparator.comparingLong(r -> r[1] - r[0]));
        return runs.get(1);
    }

    private void putMedian(final String ratio, final List<Double> values) {
        final List<Double> sorted = values.stream().sorted().toList();
        ratios.put(ratio, sorted.get(sorted.size() / 2));
        if (sorted.size() > 1) {
            spreads.put(ratio, new double[] {sorted.get(0), sorted.get(sorted.size() - 1)});
        }
    }

    private static PipelineBenchmark.Run medianBy(final List<PipelineBenchmark.Run> runs,
            final java.util.function.ToDoubleFunction<PipelineBenchmark.Run> figure) {
        return runs.stream().sorted(java.util.Comparator.comparingDouble(figure)).toList().get(runs.size() / 2);
    }

    private static double growth(final List<MemoryBenchmark.Point> points, final boolean copy,
            final ToLongFunction<MemoryBenchmark.Point> figure) {
        final List<MemoryBenchmark.Point> mine = points.stream().filter(p -> p.copyPerTask() == copy).toList();
        return figure.applyAsLong(mine.get(mine.size() - 1)) - figure.applyAsLong(mine.get(0));
    }

    private void charts(final ModelBenchmark.Result model, final List<PipelineBenchmark.Run> runs,
            final List<MemoryBenchmark.Point> memory, final Path outDir) throws IOException {
        if (model != null || !runs.isEmpty()) {
            final XYChart chart = new XYChartBuilder().width(900).height(520).title("Throughput by batch size")
                    .xAxisTitle("batch size").yAxisTitle("records/s").build();
            if (model != null) {
                final String serving = model.rows().get(0).layout();
                for (final InferenceEngine engine : InferenceEngine.values()) {
                    final List<ModelBenchmark.Row> mine = model.rows().stream().filter(r -> r.layout().equals(serving)
                            && r.engine().equals(engine.configName())).toList();
                    if (!mine.isEmpty()) {
                        chart.addSeries("model only on " + engine + ", " + serving, mine.stream()
                                .mapToDouble(ModelBenchmark.Row::batch).toArray(), mine.stream()
                                .mapToDouble(ModelBenchmark.Row::recordsPerSecond).toArray());
                    }
                }
                final Double ceiling = model.ceilings().get(InferenceEngine.ONNXRUNTIME + " " + serving);
                final double[] x = model.rows().stream().mapToDouble(ModelBenchmark.Row::batch).distinct().toArray();
                final double[] y = new double[x.length];
                java.util.Arrays.fill(y, ceiling * 1e9 / model.flopsPerRecord());
                chart.addSeries("ONNX Runtime matmul ceiling as records/s, " + serving, x, y);
            }
            // One point per batch size (the median run where the default was repeated).
            final List<PipelineBenchmark.Run> sweep = runs.stream().filter(r -> r.settings().streamThreads() == 2
                    && !r.settings().copyPerTask() && r.paceRecordsPerSecond() == 0
                    && !r.settings().name().startsWith(PREVIOUS_DEFAULT_NAME))
                    .collect(java.util.stream.Collectors.groupingBy(r -> r.settings().batchSize(),
                            java.util.TreeMap::new, java.util.stream.Collectors.toList()))
                    .values().stream().map(same -> medianBy(same, PipelineBenchmark.Run::recordsPerSecond)).toList();
            if (!sweep.isEmpty()) {
                final double[] x = sweep.stream().mapToDouble(r -> r.settings().batchSize()).toArray();
                chart.addSeries("model only, 2 callers x 1 intra-op",
                        x, sweep.stream().mapToDouble(PipelineBenchmark.Run::modelOnlyRecordsPerSecond).toArray());
                chart.addSeries("through Kafka, 2 stream threads x 1 intra-op", x,
                        sweep.stream().mapToDouble(PipelineBenchmark.Run::recordsPerSecond).toArray());
            }
            BitmapEncoder.saveBitmap(chart, outDir.resolve("bench-throughput.png").toString(),
                    BitmapEncoder.BitmapFormat.PNG);
        }
        if (!runs.isEmpty()) {
            final CategoryChart chart = new CategoryChartBuilder().width(900).height(520)
                    .title("Latency percentiles (latency events)").xAxisTitle("percentile").yAxisTitle("ms").build();
            final List<String> x = List.of("p50", "p95", "p99");
            for (final PipelineBenchmark.Run r : List.of(runs.get(0), runs.get(runs.size() - 1))) {
                final String label = r.paceRecordsPerSecond() > 0 ? "paced" : r.settings().name();
                for (final String d : List.of("processing", "inference")) {
                    chart.addSeries(label + " " + d, x, x.stream().map(p -> (Number) r.latencyMs().get(d).get(p))
                            .toList());
                }
            }
            BitmapEncoder.saveBitmap(chart, outDir.resolve("bench-latency.png").toString(),
                    BitmapEncoder.BitmapFormat.PNG);
        }
        if (!memory.isEmpty()) {
            final XYChart chart = new XYChartBuilder().width(900).height(520).title("Resident memory by stream threads")
                    .xAxisTitle("stream threads").yAxisTitle("RSS, MB").build();
            for (final boolean copy : List.of(false, true)) {
                final List<MemoryBenchmark.Point> mine = memory.stream().filter(p -> p.copyPerTask() == copy).toList();
                chart.addSeries(copy ? "model copy per task (baseline a)" : "one shared model",
                        mine.stream().mapToDouble(MemoryBenchmark.Point::streamThreads).toArray(),
                        mine.stream().mapToDouble(p -> p.residentBytes() / 1e6).toArray());
            }
            BitmapEncoder.saveBitmap(chart, outDir.resolve("bench-memory.png").toString(),
                    BitmapEncoder.BitmapFormat.PNG);
        }
    }

    private static String cpuModel() {
        try {
            for (final String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).strip();
                }
            }
        } catch (IOException e) {
            return "unknown";
        }
        return "unknown";
    }
}
