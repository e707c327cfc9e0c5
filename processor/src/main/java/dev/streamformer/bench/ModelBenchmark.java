package dev.streamformer.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import dev.streamformer.model.EncoderInput;
import dev.streamformer.model.InferenceModel;
import dev.streamformer.model.IntraOpThreads;
import dev.streamformer.model.SharedEncoder;

/**
 * The model suite: achieved GFLOP/s of the encoder forward pass beside the fp32 matmul ceiling,
 * both measured in this run on the calling thread with the same intra-op threads.
 */
public final class ModelBenchmark {

    /**
     * One row of results.
     *
     * @param batch sequences per forward pass
     * @param length tokens per sequence
     * @param recordsPerSecond median throughput
     * @param gflops achieved GFLOP/s at the median
     * @param ofCeiling gflops / the matmul ceiling measured interleaved with this row's passes
     * @param ceilingRecordsPerSecond records/s the model would reach at that ceiling
     * @param minSeconds fastest forward pass
     * @param maxSeconds slowest forward pass
     */
    public record Row(int batch, int length, double recordsPerSecond, double gflops, double ofCeiling,
            double ceilingRecordsPerSecond, double minSeconds, double maxSeconds) {
    }

    /**
     * The suite's results.
     *
     * @param threads intra-op threads
     * @param ceilingGflops fp32 GFLOP/s of an n x n x n matmul, the median over the rows (each row has its own)
     * @param ceilingSize n
     * @param rows one row per batch size
     */
    public record Result(int threads, double ceilingGflops, int ceilingSize, List<Row> rows) {

        /** @return the figures as a JSON-ready map */
        public Map<String, Object> toMap() {
            final Map<String, Object> m = new LinkedHashMap<>();
            m.put("intra_op_threads", threads);
            m.put("matmul_ceiling_gflops", ceilingGflops);
            m.put("matmul_size", ceilingSize);
            m.put("rows", rows);
            return m;
        }

        /** @return a plain-text table */
        public String toTable() {
            final StringBuilder b = new StringBuilder();
            b.append(String.format(Locale.ROOT, "fp32 matmul ceiling (%d^3, %d threads, measured between the forward"
                    + " passes of every row; median): %.1f GFLOP/s%n",
                    ceilingSize, threads, ceilingGflops));
            b.append(String.format(Locale.ROOT, "%6s %6s %12s %10s %10s %14s %18s%n", "batch", "tokens",
                    "records/s", "GFLOP/s", "of ceiling", "ceiling rec/s", "batch ms min-max"));
            for (final Row r : rows) {
                b.append(String.format(Locale.ROOT, "%6d %6d %12.1f %10.1f %9.0f%% %14.1f %8.1f-%-8.1f%n",
                        r.batch(), r.length(), r.recordsPerSecond(), r.gflops(), 100 * r.ofCeiling(),
                        r.ceilingRecordsPerSecond(), r.minSeconds() * 1e3, r.maxSeconds() * 1e3));
            }
            return b.toString();
        }
    }

    private ModelBenchmark() {
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

    /**
     * Measures {@link BucketRow}.
     *
     * @param model the model
     * @param threads intra-op threads
     * @param batch requests in the batch
     * @param maxLength the longest request
     * @param repetitions timed runs
     * @return the row
     */
    public static BucketRow lengthBuckets(final InferenceModel model, final int threads, final int batch,
            final int maxLength, final int repetitions) {
        model.setIntraOpThreads(threads);
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
     * Runs the suite. The ceiling is measured again for every batch size, one matmul before each
     * timed forward pass, so that each row's ratio compares figures taken at the same moments: on a
     * shared machine the speed of the cores drifts by tens of percent within a minute.
     *
     * @param model the model
     * @param threads intra-op threads for the matmul and the forward passes
     * @param batches batch sizes to measure
     * @param length tokens per sequence
     * @param repetitions timed runs per batch size
     * @return the results
     */
    public static Result run(final InferenceModel model, final int threads, final List<Integer> batches,
            final int length, final int repetitions) {
        final int n = 1024;
        model.setIntraOpThreads(threads);
        IntraOpThreads.apply(threads);
        final double flopsPerRecord = FlopCount.perSequence(model.config(), length);
        final List<Row> rows = new ArrayList<>();
        final List<Double> ceilings = new ArrayList<>();
        final SplittableRandom random = new SplittableRandom(1);
        try (NDManager manager = Engine.getEngine(SharedEncoder.ENGINE).newBaseManager()) {
            final NDArray a = manager.randomNormal(new Shape(n, n));
            final NDArray b = manager.randomNormal(new Shape(n, n));
            final Runnable matmul = () -> {
                try (NDManager scratch = manager.newSubManager()) {
                    final NDArray x = a.duplicate();
                    x.attach(scratch);
                    x.matMul(b).toFloatArray();
                }
            };
            for (final int batch : batches) {
                final List<EncoderInput> inputs = new ArrayList<>();
                for (int i = 0; i < batch; i++) {
                    inputs.add(EncoderInput.of(random.ints(length, 0, model.config().vocabSize()).toArray()));
                }
                final Stopwatch.Timing[] pair = Stopwatch.timeInterleaved(3, repetitions, matmul,
                        () -> model.predict(inputs));
                final double ceiling = 2.0 * n * n * n / pair[0].median() / 1e9;
                ceilings.add(ceiling);
                final Stopwatch.Timing t = pair[1];
                final double gflops = flopsPerRecord * batch / t.median() / 1e9;
                rows.add(new Row(batch, length, batch / t.median(), gflops, gflops / ceiling,
                        ceiling * 1e9 / flopsPerRecord, t.min(), t.max()));
            }
        }
        ceilings.sort(Double::compare);
        return new Result(threads, ceilings.get(ceilings.size() / 2), n, rows);
    }
}
