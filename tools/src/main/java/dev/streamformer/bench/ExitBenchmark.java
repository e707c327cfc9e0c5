package dev.streamformer.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import dev.streamformer.corpus.DemoSample;
import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.EncoderInput;
import dev.streamformer.model.EngineSettings;
import dev.streamformer.model.ExitHeads;
import dev.streamformer.model.ExitPolicy;
import dev.streamformer.model.InferenceEngine;
import dev.streamformer.model.InferenceModel;

/**
 * A model with exit heads, four ways, timed in alternation on the same records of real mail (the
 * bundled sample of a held-out test part), {@link #POOL} batches per round: the single graph at full
 * depth (what a model without exits runs), the layer-by-layer engine at full depth (its overhead), the
 * layer-by-layer engine under an exit policy with batches that shrink as records leave, and the same
 * with depth-wise refill (a batch's free rows taken at once by the next records, which run layer 1 in
 * the same product as the deeper rows), with the mean layers run.
 */
public final class ExitBenchmark {

    /** Batches of records per timed round: what the refill column draws its newcomers from. */
    public static final int POOL = 4;

    /**
     * One layout and batch size.
     *
     * @param layout callers x intra-op threads
     * @param batch records per call
     * @param singleGraph records/s of the single graph, full depth
     * @param layeredFullDepth records/s of the layer-by-layer engine, full depth
     * @param earlyExit records/s of the layer-by-layer engine under the policy, batches that shrink
     * @param refill records/s of the layer-by-layer engine under the policy, rows refilled
     * @param meanLayers layers run per record under the policy
     */
    public record Row(String layout, int batch, double singleGraph, double layeredFullDepth, double earlyExit,
            double refill, double meanLayers) {

        /** @return a line of the table */
        public String toLine() {
            return String.format(Locale.ROOT, "%-7s %6d %13.1f %13.1f %13.1f %13.1f %11.2f %9.2fx %9.2fx %9.2fx",
                    layout, batch, singleGraph, layeredFullDepth, earlyExit, refill, meanLayers,
                    layeredFullDepth / singleGraph, earlyExit / singleGraph, refill / singleGraph);
        }
    }

    private ExitBenchmark() {
    }

    /** @return the table's header */
    public static String header() {
        return String.format(Locale.ROOT, "%-7s %6s %13s %13s %13s %13s %11s %10s %10s %10s", "layout", "batch",
                "single graph", "layered full", "early exit", "exit+refill", "mean layers", "layered", "exit", "refill");
    }

    /**
     * Runs the comparison.
     *
     * @param modelDir a model directory with exit heads and a tokenizer
     * @param policy the exit policy
     * @param layouts the ways of spending the cores
     * @param batches batch sizes
     * @param repetitions timed rounds per figure
     * @return one row per layout and batch size
     * @throws IOException when the model or the sample cannot be read
     */
    public static List<Row> run(final Path modelDir, final ExitPolicy policy, final List<ModelBenchmark.Layout> layouts,
            final List<Integer> batches, final int repetitions) throws IOException {
        final Checkpoint checkpoint = Checkpoint.load(modelDir);
        if (checkpoint.config().exits() == ExitHeads.NONE) {
            throw new IllegalArgumentException(modelDir + " has no exit heads: finetune it with --exits first");
        }
        final List<int[]> texts = DemoSample.tokenized(modelDir, null);
        final List<Row> rows = new ArrayList<>();
        for (final ModelBenchmark.Layout layout : layouts) {
            final EngineSettings settings = EngineSettings.of(InferenceEngine.ONNXRUNTIME, layout.intraOpThreads());
            final ExecutorService callers = Executors.newFixedThreadPool(layout.callers());
            try (InferenceModel single = new InferenceModel("single", "v", checkpoint.withExits(ExitHeads.NONE), settings);
                    InferenceModel layered = InferenceModel.load(modelDir, settings)) {
                int next = 0;
                for (final int batch : batches) {
                    final List<EncoderInput> pool = new ArrayList<>();
                    for (int i = 0; i < POOL * batch; i++) {
                        pool.add(EncoderInput.of(texts.get(next++ % texts.size())));
                    }
                    final List<List<EncoderInput>> chunks = new ArrayList<>();
                    for (int from = 0; from < pool.size(); from += batch) {
                        chunks.add(pool.subList(from, from + batch));
                    }
                    final double meanLayers = layered.predict(pool, policy, batch).stream()
                            .mapToInt(InferenceModel.Exit::layers).average().orElse(0);
                    final Stopwatch.Timing[] t = Stopwatch.timeInterleaved(ModelBenchmark.QUIET_MS, 3, repetitions,
                            ModelBenchmark.onAll(callers, layout.callers(), () -> chunks.forEach(single::predict)),
                            ModelBenchmark.onAll(callers, layout.callers(),
                                    () -> chunks.forEach(b -> layered.predict(b, ExitPolicy.NONE))),
                            ModelBenchmark.onAll(callers, layout.callers(), () -> chunks.forEach(b -> layered.predict(b, policy))),
                            ModelBenchmark.onAll(callers, layout.callers(), () -> layered.predict(pool, policy, batch)));
                    final double records = (double) pool.size() * layout.callers();
                    rows.add(new Row(layout.label(), batch, records / t[0].median(), records / t[1].median(),
                            records / t[2].median(), records / t[3].median(), meanLayers));
                }
            } finally {
                callers.shutdownNow();
            }
        }
        return rows;
    }
}
