package dev.streamformer.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import dev.streamformer.engine.pytorch.IntraOpThreads;
import dev.streamformer.engine.pytorch.SharedEncoder;
import dev.streamformer.model.EncoderInput;
import dev.streamformer.model.EngineSettings;
import dev.streamformer.model.InferenceEngine;
import dev.streamformer.model.InferenceModel;
import dev.streamformer.model.ModelConfig;
import dev.streamformer.engine.onnx.internals.MatMulProbe;

/**
 * The model suite: the encoder's forward pass on each engine beside both fp32 matmul ceilings
 * (PyTorch's sgemm and ONNX Runtime's MLAS), in each way of spending the cores: C callers, each
 * forward pass (and each ceiling product) on T intra-op threads. For every batch size the four
 * actions (both ceilings, both engines) are timed in alternation, so that each row's ratios compare
 * figures taken at the same moments of a machine whose speed drifts, each after a pause of
 * {@link #QUIET_MS} so that no other pool's spinning workers share its cores. At batch 1 each engine
 * is also checked against a plain loop of calls over the same model ({@link LoopCheck}).
 */
public final class ModelBenchmark {

    private static final int CEILING_SIZE = 1024;

    /**
     * The pause before each timed action, so that it starts on quiet cores. A pool that has just
     * finished keeps its workers spinning: measured on a 2-core AVX2 machine, one caller x 2 intra-op
     * threads, batch 1, 128 tokens, the default engine ran 117 records/s back to back, 63-68 right after
     * a PyTorch or an ONNX Runtime matmul, 113-114 after a pause of 10 ms (PyTorch) or 50 ms (ONNX
     * Runtime), and 105-111 after 200 ms (its own pool asleep by then). Twice the longest spin measured;
     * after it each action runs once untimed, so that its own pool is awake when its timed run starts
     * ({@link Stopwatch#timeInterleaved(long, int, int, Runnable...)}).
     */
    public static final long QUIET_MS = 100;

    /** Calls in a row of the plain loop each variant is checked against at batch 1. */
    static final int PLAIN_LOOP_CALLS = 10;

    /**
     * How the cores are spent.
     *
     * @param callers threads calling the model at once
     * @param intraOpThreads threads of each call
     */
    public record Layout(int callers, int intraOpThreads) {

        /** @return for example {@code 2x1} */
        public String label() {
            return callers + "x" + intraOpThreads;
        }
    }

    /**
     * One way of running a model: a model directory on an engine.
     *
     * @param label the name in the table (the engine's name unless several variants share an engine)
     * @param dir the model directory
     * @param engine the engine
     */
    public record Variant(String label, Path dir, InferenceEngine engine) {

        /**
         * @param dir the model directory
         * @param engine the engine
         * @return the variant, labelled by the engine
         */
        public static Variant of(final Path dir, final InferenceEngine engine) {
            return new Variant(engine.configName(), dir, engine);
        }
    }

    /**
     * One variant at one batch size.
     *
     * @param engine the variant's label
     * @param layout callers x intra-op threads
     * @param batch sequences per forward pass
     * @param length tokens per sequence
     * @param recordsPerSecond median throughput of all callers together
     * @param gflops achieved GFLOP/s at the median
     * @param ofOnnxCeiling gflops / ONNX Runtime's matmul ceiling of the same moments and layout
     * @param ofPyTorchCeiling gflops / PyTorch's matmul ceiling of the same moments and layout
     * @param minSeconds fastest round (every caller's pass)
     * @param maxSeconds slowest round
     */
    public record Row(String engine, String layout, int batch, int length, double recordsPerSecond, double gflops,
            double ofOnnxCeiling, double ofPyTorchCeiling, double minSeconds, double maxSeconds) {
    }

    /**
     * The suite's results.
     *
     * @param length tokens per sequence
     * @param flopsPerRecord analytic FLOPs of one sequence
     * @param ceilingSize n of the n^3 matmul
     * @param ceilings median GFLOP/s over the rows, by "engine layout"
     * @param rows by layout, then batch, then engine
     * @param loopChecks each variant at batch 1 against a plain loop of calls, per layout
     */
    public record Result(int length, double flopsPerRecord, int ceilingSize, Map<String, Double> ceilings,
            List<Row> rows, List<LoopCheck> loopChecks) {

        /**
         * @param label the variant's label
         * @param layout the layout
         * @param batch the batch size
         * @return that row, or null
         */
        public Row row(final String label, final Layout layout, final int batch) {
            return rows.stream().filter(r -> r.engine().equals(label) && r.layout().equals(layout.label())
                    && r.batch() == batch).findFirst().orElse(null);
        }

        /** @return the figures as a JSON-ready map */
        public Map<String, Object> toMap() {
            final Map<String, Object> m = new LinkedHashMap<>();
            m.put("tokens", length);
            m.put("flops_per_record", flopsPerRecord);
            m.put("matmul_size", ceilingSize);
            m.put("matmul_ceilings_gflops", ceilings);
            m.put("rows", rows);
            m.put("plain_loop_checks", loopChecks);
            return m;
        }

        /** @return a plain-text table */
        public String toTable() {
            final StringBuilder b = new StringBuilder();
            b.append(String.format(Locale.ROOT, "fp32 matmul ceilings (%d^3; median over the rows, each measured between"
                    + " the forward passes of its row), GFLOP/s:", ceilingSize));
            ceilings.forEach((k, v) -> b.append(String.format(Locale.ROOT, "  %s %.1f", k, v)));
            b.append(System.lineSeparator());
            b.append(String.format(Locale.ROOT, "%-7s %-12s %6s %11s %9s %9s %9s %18s%n", "layout", "engine", "batch",
                    "records/s", "GFLOP/s", "of ORT", "of torch", "round ms min-max"));
            for (final Row r : rows) {
                b.append(String.format(Locale.ROOT, "%-7s %-12s %6d %11.1f %9.1f %8.0f%% %8.0f%% %8.1f-%-8.1f%n",
                        r.layout(), r.engine(), r.batch(), r.recordsPerSecond(), r.gflops(), 100 * r.ofOnnxCeiling(),
                        100 * r.ofPyTorchCeiling(), r.minSeconds() * 1e3, r.maxSeconds() * 1e3));
            }
            for (final LoopCheck c : loopChecks) {
                b.append(String.format(Locale.ROOT, "check %s %s batch 1: suite %.1f records/s, plain loop of %d calls"
                        + " %.1f records/s (suite / loop %.2f)%n", c.layout(), c.engine(), c.suiteRecordsPerSecond(),
                        PLAIN_LOOP_CALLS, c.loopRecordsPerSecond(), c.ratio()));
            }
            return b.toString();
        }
    }

    /**
     * A variant's batch-1 figure against a plain loop over the same model: {@link #PLAIN_LOOP_CALLS}
     * calls in a row on each caller, timed in alternation with the suite's actions. The suite times one
     * call after a quiet pause; the loop is what a busy processor does. Near 1 when the suite measures
     * the engine and not its neighbours' spinning pools.
     *
     * @param engine the variant's label
     * @param layout callers x intra-op threads
     * @param suiteRecordsPerSecond the suite's figure (the row's)
     * @param loopRecordsPerSecond the plain loop's, median
     */
    public record LoopCheck(String engine, String layout, double suiteRecordsPerSecond, double loopRecordsPerSecond) {

        /** @return suite / loop */
        public double ratio() {
            return suiteRecordsPerSecond / loopRecordsPerSecond;
        }
    }

    /**
     * One padded batch against one forward pass per length bucket, for a batch of requests whose
     * lengths are spread evenly from 8 (or {@code maxLength} if shorter) to {@code maxLength} tokens,
     * timed in alternation.
     *
     * @param batch requests
     * @param maxLength longest request
     * @param buckets the bucket sizes, for example [1, 3, 6, 6]
     * @param paddedSeconds median of one forward pass over the whole padded batch
     * @param bucketedSeconds median of the forward passes of all buckets together
     */
    public record BucketRow(int batch, int maxLength, List<Integer> buckets, double paddedSeconds,
            double bucketedSeconds) {
    }

    private ModelBenchmark() {
    }

    /**
     * Measures {@link BucketRow} on a loaded model.
     *
     * @param model the model
     * @param batch requests in the batch
     * @param maxLength the longest request
     * @param repetitions timed runs
     * @return the row
     */
    public static BucketRow lengthBuckets(final InferenceModel model, final int batch, final int maxLength,
            final int repetitions) {
        final SplittableRandom random = new SplittableRandom(5);
        final List<EncoderInput> all = new ArrayList<>();
        final Map<Integer, List<EncoderInput>> byBucket = new TreeMap<>();
        for (int i = 0; i < batch; i++) {
            final int shortest = Math.min(8, maxLength);
            final EncoderInput in = EncoderInput.of(random.ints(shortest + random.nextInt(maxLength - shortest + 1), 0,
                    model.config().vocabSize()).toArray());
            all.add(in);
            byBucket.computeIfAbsent(in.lengthBucket(), k -> new ArrayList<>()).add(in);
        }
        final Stopwatch.Timing[] pair = Stopwatch.timeInterleaved(3, repetitions, () -> model.predict(all),
                () -> byBucket.values().forEach(model::predict));
        return new BucketRow(batch, maxLength, byBucket.values().stream().map(List::size).toList(), pair[0].median(),
                pair[1].median());
    }

    /**
     * Runs the suite.
     *
     * @param variants the model directories and engines to compare (one that cannot load is left out)
     * @param layouts the ways of spending the cores
     * @param batches batch sizes
     * @param length tokens per sequence
     * @param repetitions timed rounds per figure
     * @return the results
     * @throws IOException when the model cannot be read
     */
    public static Result run(final List<Variant> variants, final List<Layout> layouts,
            final List<Integer> batches, final int length, final int repetitions) throws IOException {
        final List<Row> rows = new ArrayList<>();
        final List<LoopCheck> loopChecks = new ArrayList<>();
        final Map<String, List<Double>> ceilings = new LinkedHashMap<>();
        double flopsPerRecord = 0;
        for (final Layout layout : layouts) {
            final Map<String, InferenceModel> models = new LinkedHashMap<>();
            final ExecutorService callers = Executors.newFixedThreadPool(layout.callers());
            try (MatMulProbe onnxMatmul = new MatMulProbe(CEILING_SIZE, layout.intraOpThreads());
                    NDManager torch = Engine.getEngine(SharedEncoder.ENGINE).newBaseManager()) {
                for (final Variant v : variants) {
                    try {
                        models.put(v.label(), InferenceModel.load(v.dir(),
                                EngineSettings.of(v.engine(), layout.intraOpThreads())));
                    } catch (IllegalArgumentException e) {
                        System.err.println("bench: " + v.label() + " left out: " + e.getMessage());
                    }
                }
                final ModelConfig config = models.values().iterator().next().config();
                flopsPerRecord = FlopCount.perSequence(config, length);
                final NDArray a = torch.randomNormal(new Shape(CEILING_SIZE, CEILING_SIZE));
                final NDArray b = torch.randomNormal(new Shape(CEILING_SIZE, CEILING_SIZE));
                final Runnable torchMatmul = () -> {
                    IntraOpThreads.apply(layout.intraOpThreads());
                    try (NDManager scratch = torch.newSubManager()) {
                        final NDArray x = a.duplicate();
                        x.attach(scratch);
                        x.matMul(b).toFloatArray();
                    }
                };
                final SplittableRandom random = new SplittableRandom(1);
                for (final int batch : batches) {
                    final List<EncoderInput> inputs = new ArrayList<>();
                    for (int i = 0; i < batch; i++) {
                        inputs.add(EncoderInput.of(random.ints(length, 0, config.vocabSize()).toArray()));
                    }
                    final List<Runnable> actions = new ArrayList<>();
                    actions.add(onAll(callers, layout.callers(), torchMatmul));
                    actions.add(onAll(callers, layout.callers(), onnxMatmul::run));
                    for (final InferenceModel m : models.values()) {
                        actions.add(onAll(callers, layout.callers(), () -> m.predict(inputs)));
                    }
                    if (batch == 1) {
                        for (final InferenceModel m : models.values()) {
                            actions.add(onAll(callers, layout.callers(), () -> {
                                for (int i = 0; i < PLAIN_LOOP_CALLS; i++) {
                                    m.predict(inputs);
                                }
                            }));
                        }
                    }
                    final Stopwatch.Timing[] t = Stopwatch.timeInterleaved(QUIET_MS, 3, repetitions,
                            actions.toArray(new Runnable[0]));
                    final double matmulFlops = 2.0 * CEILING_SIZE * CEILING_SIZE * CEILING_SIZE * layout.callers();
                    final double torchCeiling = matmulFlops / t[0].median() / 1e9;
                    final double onnxCeiling = matmulFlops / t[1].median() / 1e9;
                    ceilings.computeIfAbsent(InferenceEngine.PYTORCH + " " + layout.label(), k -> new ArrayList<>())
                            .add(torchCeiling);
                    ceilings.computeIfAbsent(InferenceEngine.ONNXRUNTIME + " " + layout.label(), k -> new ArrayList<>())
                            .add(onnxCeiling);
                    int k = 2;
                    final double records = (double) batch * layout.callers();
                    for (final String label : models.keySet()) {
                        final Stopwatch.Timing timing = t[k++];
                        final double gflops = flopsPerRecord * records / timing.median() / 1e9;
                        rows.add(new Row(label, layout.label(), batch, length, records / timing.median(),
                                gflops, gflops / onnxCeiling, gflops / torchCeiling, timing.min(), timing.max()));
                    }
                    if (batch == 1) {
                        final List<Row> suite = rows.subList(rows.size() - models.size(), rows.size());
                        for (final Row row : suite) {
                            loopChecks.add(new LoopCheck(row.engine(), layout.label(), row.recordsPerSecond(),
                                    records * PLAIN_LOOP_CALLS / t[k++].median()));
                        }
                    }
                }
            } finally {
                callers.shutdownNow();
                models.values().forEach(InferenceModel::close);
            }
        }
        final Map<String, Double> medians = new LinkedHashMap<>();
        ceilings.forEach((k, v) -> medians.put(k, v.stream().sorted().toList().get(v.size() / 2)));
        return new Result(length, flopsPerRecord, CEILING_SIZE, medians, rows, loopChecks);
    }

    /** An action that runs {@code task} on {@code n} pool threads at once and waits for all. */
    static Runnable onAll(final ExecutorService pool, final int n, final Runnable task) {
        return () -> {
            final List<Future<?>> running = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                running.add(pool.submit(task));
            }
            try {
                for (final Future<?> f : running) {
                    f.get();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            } catch (java.util.concurrent.ExecutionException e) {
                throw new IllegalStateException("a benchmark call failed: " + e.getCause(), e.getCause());
            }
        };
    }
}
