package dev.streamformer.train;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;

import com.google.gson.GsonBuilder;

import dev.streamformer.bench.MemoryProbe;
import dev.streamformer.bench.ModelBenchmark;
import dev.streamformer.compress.Prune;
import dev.streamformer.compress.Quantize;
import dev.streamformer.compress.Share;
import dev.streamformer.corpus.Corpus;
import dev.streamformer.corpus.WordPieceTrainer;
import dev.streamformer.model.Activation;
import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.EngineSettings;
import dev.streamformer.model.ExitHeads;
import dev.streamformer.model.ExitPolicy;
import dev.streamformer.model.InferenceEngine;
import dev.streamformer.model.InferenceModel;
import dev.streamformer.model.ModelConfig;
import dev.streamformer.model.ModelDirectory;
import dev.streamformer.model.ParameterStats;
import dev.streamformer.model.SharingPlan;
import dev.streamformer.model.SharingStrategy;
import dev.streamformer.text.internals.TokenizerFiles;

/**
 * The trade-off table: the same dimensions, data, seed and training budget for every sharing plan
 * and compression step, measured on both splits; writes markdown, JSON and a chart.
 */
public final class TradeoffTable {

    /**
     * Dimensions and budget of every row.
     *
     * @param embedding E
     * @param hidden H
     * @param layers L
     * @param heads A
     * @param intermediate F
     * @param vocab WordPiece vocabulary size
     * @param maxLength tokens per e-mail
     * @param training the training settings of every model trained from scratch
     * @param finetuneEpochs epochs of recovery after share and prune
     */
    public record Setup(int embedding, int hidden, int layers, int heads, int intermediate, int vocab, int maxLength,
            ModelTrainer.Settings training, int finetuneEpochs) {
    }

    /**
     * One measured row.
     *
     * @param name the row
     * @param uniqueParameters stored parameters
     * @param fileBytes size of model.safetensors
     * @param metrics accuracy and F1 per split
     * @param recordsPerSecond batch 8 x tokens on the serving engine, one caller per core
     * @param residentBytes resident memory of a JVM serving it
     */
    public record Row(String name, long uniqueParameters, long fileBytes, Map<String, Evaluation> metrics,
            double recordsPerSecond, long residentBytes, Exits exits) {

        /** A row without early-exit figures. */
        public Row(final String name, final long uniqueParameters, final long fileBytes,
                final Map<String, Evaluation> metrics, final double recordsPerSecond, final long residentBytes) {
            this(name, uniqueParameters, fileBytes, metrics, recordsPerSecond, residentBytes, null);
        }
    }

    /**
     * A row's model with exit heads: {@code finetuneEpochs} epochs with an exit after every layer (shared
     * heads for all-shared plans, one per layer otherwise), the policy chosen on each split's validation
     * part for at most {@link #EXIT_MAX_LOSS_POINTS} points of accuracy, scored on its test part.
     *
     * @param heads the exit heads
     * @param bySplit per split: the chosen policy and the test part at full depth and under it
     * @param fullDepthRecordsPerSecond the random split's model as one graph at full depth on the bundled mail,
     *     batch 8, one caller per core
     * @param atPolicyRecordsPerSecond the same under the random split's policy, timed in alternation
     */
    public record Exits(String heads, Map<String, SplitExits> bySplit, double fullDepthRecordsPerSecond,
            double atPolicyRecordsPerSecond) {
    }

    /**
     * @param policy the policy chosen on the validation part
     * @param fullDepth the test part with every layer
     * @param atPolicy the test part under the policy
     * @param meanLayers layers run per test e-mail under the policy
     */
    public record SplitExits(String policy, Evaluation fullDepth, Evaluation atPolicy, double meanLayers) {
    }

    /** Accuracy an exit policy may lose against full depth on the validation part, in points. */
    static final double EXIT_MAX_LOSS_POINTS = 0.1;

    /** Row names. */
    static final String NOT_SHARED = "not shared";
    static final String ALL_SHARED = "all shared (scratch)";
    static final String CONVERTED = "all shared (from not-shared + fine-tune)";
    static final String ATTENTION_ONLY = "attention only";
    static final String FFN_ONLY = "feed-forward only";
    static final String GROUPS_SEQUENCE = "3 groups, sequence";
    static final String GROUPS_CYCLE = "3 groups, cycle";
    static final String ONE_KV_HEAD = "all shared, 1 key/value head";
    static final String PRUNED = "all shared + pruned";
    static final String INT8 = "all shared + int8";
    static final String CLASSIC = "classic: TF-IDF + logistic regression";
    /** Ranks of the relaxed rows: all shared plus per-layer deltas, from the not-shared model. */
    static final List<Integer> RELAXED_RANKS = List.of(4, 16);
    private static final String RELAXED = "relaxed, rank ";
    /**
     * Where the part of TRADEOFF.md written by hand begins (its first section heading: the generated
     * part has none), which regenerating keeps.
     */
    private static final String HAND_WRITTEN = "\n## ";

    private static final List<String> SPLITS = List.of("random", "later");
    /** How the records/s column is measured: the processor's default, a caller per core on one intra-op thread. */
    private static final ModelBenchmark.Layout SERVING = new ModelBenchmark.Layout(
            Runtime.getRuntime().availableProcessors(), 1);

    private TradeoffTable() {
    }

    /**
     * Builds every row on both splits.
     *
     * @param dataDir the corpus
     * @param work where models are written
     * @param setup dimensions and budget
     * @param log progress
     * @return the rows
     * @throws Exception when a step fails
     */
    public static List<Row> build(final Path dataDir, final Path work, final Setup setup, final PrintStream log)
            throws Exception {
        final List<Corpus.Message> messages = Corpus.read(dataDir);
        final Map<String, Map<String, Path>> models = new LinkedHashMap<>();
        final Map<String, Map<String, Evaluation>> metrics = new LinkedHashMap<>();
        final Map<String, Map<String, Path>> exitModels = new LinkedHashMap<>();
        final Map<String, Map<String, SplitExits>> exitMetrics = new LinkedHashMap<>();
        for (final String split : SPLITS) {
            final Path dir = work.resolve(split);
            final Path tokenizer = dir.resolve("tokenizer");
            final Datasets.Tokenized data = prepare(dataDir, split, messages, tokenizer, setup);
            final Map<String, Path> built = new LinkedHashMap<>();
            final Checkpoint none = train(log, split, NOT_SHARED, rowConfig(NOT_SHARED, setup), data, setup, dir,
                    tokenizer, built);
            final Checkpoint all = train(log, split, ALL_SHARED, rowConfig(ALL_SHARED, setup), data, setup,
                    dir, tokenizer, built);
            finetune(log, split, CONVERTED, Share.convert(none, SharingPlan.ALL,
                    rowConfig(CONVERTED, setup).numKeyValueHeads()), data, setup, dir, tokenizer, built, none);
            relaxedRows(log, split, none, data, setup, dir, tokenizer, built);
            train(log, split, ATTENTION_ONLY, rowConfig(ATTENTION_ONLY, setup), data, setup, dir, tokenizer,
                    built);
            train(log, split, FFN_ONLY, rowConfig(FFN_ONLY, setup), data, setup, dir, tokenizer, built);
            train(log, split, GROUPS_SEQUENCE, rowConfig(GROUPS_SEQUENCE, setup), data,
                    setup, dir, tokenizer, built);
            train(log, split, GROUPS_CYCLE, rowConfig(GROUPS_CYCLE, setup), data, setup,
                    dir, tokenizer, built);
            train(log, split, ONE_KV_HEAD, rowConfig(ONE_KV_HEAD, setup), data,
                    setup, dir, tokenizer, built);
            finetune(log, split, PRUNED, Prune.prune(all, setup.heads() / 2, setup.intermediate() / 2),
                    data, setup, dir, tokenizer, built, null);
            save(Quantize.int8(all), INT8, dir, tokenizer, built);
            for (final Map.Entry<String, Path> e : built.entrySet()) {
                try (InferenceModel m = InferenceModel.load(e.getValue())) {
                    final Evaluation eval = Evaluation.of(m, data.test(), 32);
                    metrics.computeIfAbsent(e.getKey(), k -> new LinkedHashMap<>()).put(split, eval);
                    log.printf(Locale.ROOT, "%s / %s: accuracy %.4f, spam F1 %.4f%n", split, e.getKey(), eval.accuracy(),
                            eval.f1());
                }
            }
            exits(log, split, built, data, setup, dir, tokenizer, exitModels, exitMetrics);
            models.put(split, built);
        }
        final List<Row> rows = new ArrayList<>();
        for (final Map.Entry<String, Path> e : models.get(SPLITS.get(0)).entrySet()) {
            rows.add(row(e.getKey(), e.getValue(), metrics, exitModels, exitMetrics, setup, log));
        }
        rows.add(classicRow(messages, log));
        return rows;
    }

    /** A split's vocabulary learned on its training part, written to tokenizer, and its parts tokenized with it. */
    private static Datasets.Tokenized prepare(final Path dataDir, final String split,
            final List<Corpus.Message> messages, final Path tokenizer, final Setup setup) throws IOException {
        final Corpus.Split parts = Corpus.split(split, messages, Datasets.SPLIT_SEED);
        TokenizerFiles.write(tokenizer, WordPieceTrainer.train(parts.train().stream().map(Corpus.Message::text)
                .toList(), setup.vocab(), 2));
        return Datasets.load(dataDir, split, tokenizer, setup.maxLength());
    }

    /**
     * Every model of a split but the int8 one fine-tuned with exits and scored, into the maps by row
     * name and split.
     */
    private static void exits(final PrintStream log, final String split, final Map<String, Path> built,
            final Datasets.Tokenized data, final Setup setup, final Path dir, final Path tokenizer,
            final Map<String, Map<String, Path>> exitModels, final Map<String, Map<String, SplitExits>> exitMetrics)
            throws IOException {
        for (final Map.Entry<String, Path> e : built.entrySet()) {
            if (!e.getKey().equals(INT8)) {
                final Path withExits = withExits(log, split, e.getKey(), e.getValue(), data, setup, dir, tokenizer);
                exitModels.computeIfAbsent(e.getKey(), k -> new LinkedHashMap<>()).put(split, withExits);
                exitMetrics.computeIfAbsent(e.getKey(), k -> new LinkedHashMap<>()).put(split,
                        exitsOn(log, split, e.getKey(), withExits, data));
            }
        }
    }

    /** The table's row of a model: measured now, with its exit figures where it has an exits model. */
    private static Row row(final String name, final Path model, final Map<String, Map<String, Evaluation>> metrics,
            final Map<String, Map<String, Path>> exitModels, final Map<String, Map<String, SplitExits>> exitMetrics,
            final Setup setup, final PrintStream log) throws Exception {
        final Row row = measured(name, model, metrics.get(name), setup, log);
        return exitMetrics.containsKey(name)
                ? withExitSpeed(row, exitModels.get(name).get(SPLITS.get(0)), exitMetrics.get(name), log) : row;
    }

    /** A row of a trained model: its size, the metrics, and records/s and RSS measured now. */
    private static Row measured(final String name, final Path model, final Map<String, Evaluation> metrics,
            final Setup setup, final PrintStream log) throws Exception {
        final Checkpoint c = Checkpoint.load(model);
        final double speed = ModelBenchmark.run(List.of(ModelBenchmark.Variant.of(model, InferenceEngine.DEFAULT)),
                List.of(SERVING), List.of(8), setup.maxLength(), 5).rows().get(0).recordsPerSecond();
        log.printf(Locale.ROOT, "measured %s: %.1f records/s%n", name, speed);
        return new Row(name, ParameterStats.of(c).uniqueParameters(), Files.size(model.resolve(ModelDirectory.WEIGHTS)),
                metrics, speed, MemoryProbe.measure(model, InferenceEngine.DEFAULT, true)[1]);
    }

    /**
     * A row's model fine-tuned with an exit after every layer (cached in {@code dir} like every model).
     */
    private static Path withExits(final PrintStream log, final String split, final String name, final Path model,
            final Datasets.Tokenized data, final Setup setup, final Path dir, final Path tokenizer) throws IOException {
        final String exitsName = name + " + exits";
        final Path before = savedBefore(log, split, exitsName, "fine-tuned", dir, setup);
        if (before != null) {
            return before;
        }
        final Checkpoint start = Checkpoint.load(model);
        final ExitHeads heads = start.config().plan().equals(SharingPlan.ALL) ? ExitHeads.SHARED : ExitHeads.PER_LAYER;
        log.printf("== %s: %s (%d epochs with %s exit heads)%n", split, exitsName, setup.finetuneEpochs(), heads);
        final ModelTrainer.Settings t = setup.training();
        final ModelTrainer.Settings s = new ModelTrainer.Settings(setup.finetuneEpochs(), t.batchSize(),
                t.learningRate() / 2, t.warmupFraction(), t.weightDecay(), t.seed(), t.threads(), 0, 1);
        save(ModelTrainer.train(start.withExits(heads), data.train(), null, s, log, (epoch, m) -> { }), exitsName,
                dir, tokenizer, new LinkedHashMap<>(), setup);
        return modelPath(dir, exitsName);
    }

    /** Chooses a policy on the validation part and scores it on the test part. */
    private static SplitExits exitsOn(final PrintStream log, final String split, final String name, final Path model,
            final Datasets.Tokenized data) throws IOException {
        final Checkpoint c = Checkpoint.load(model);
        final EngineSettings engine = EngineSettings.of(InferenceEngine.DEFAULT, 0);
        final ExitPolicy policy = ExitEvaluation.choose(ExitEvaluation.depths(c, engine, data.validation()),
                Evaluation.labels(data.validation()), EXIT_MAX_LOSS_POINTS).get(0).policy();
        policy.write(model);
        final float[][][] test = ExitEvaluation.depths(c, engine, data.test());
        final int[] labels = Evaluation.labels(data.test());
        final ExitEvaluation full = ExitEvaluation.of(test, labels, ExitPolicy.NONE);
        final ExitEvaluation chosen = ExitEvaluation.of(test, labels, policy);
        log.printf(Locale.ROOT, "%s / %s + exits: full depth %.4f, %s %.4f at %.2f layers%n", split, name,
                full.metrics().accuracy(), policy, chosen.metrics().accuracy(), chosen.meanLayers());
        return new SplitExits(policy.toString(), full.metrics(), chosen.metrics(), chosen.meanLayers());
    }

    /** The row with its exit figures and records/s at full depth and at its policy on the bundled mail. */
    private static Row withExitSpeed(final Row row, final Path model, final Map<String, SplitExits> bySplit,
            final PrintStream log) throws IOException {
        final ExitPolicy policy = ExitPolicy.parse(bySplit.get(SPLITS.get(0)).policy());
        final dev.streamformer.bench.ExitBenchmark.Row speed = dev.streamformer.bench.ExitBenchmark.run(model, policy,
                List.of(SERVING), List.of(8), 5).get(0);
        log.printf(Locale.ROOT, "measured %s + exits: %.1f records/s at full depth, %.1f at %s (%.2f layers)%n",
                row.name(), speed.singleGraph(), speed.earlyExit(), policy, speed.meanLayers());
        return new Row(row.name(), row.uniqueParameters(), row.fileBytes(), row.metrics(), row.recordsPerSecond(),
                row.residentBytes(), new Exits(ModelConfig.read(model).exits().toString(), bySplit,
                        speed.singleGraph(), speed.earlyExit()));
    }

    /** The name of the relaxed row of rank r. */
    static String relaxedRow(final int rank) {
        return RELAXED + rank + " (from not-shared + fine-tune)";
    }

    /**
     * The relaxed rows: the not-shared model made all-shared with rank-r deltas (truncated SVD),
     * then fine-tuned with distillation from it, the recipe of the converted row.
     */
    private static void relaxedRows(final PrintStream log, final String split, final Checkpoint none,
            final Datasets.Tokenized data, final Setup setup, final Path dir, final Path tokenizer,
            final Map<String, Path> built) throws IOException {
        for (final int rank : RELAXED_RANKS) {
            final String name = relaxedRow(rank);
            finetune(log, split, name, Share.convert(none, SharingPlan.ALL, rowConfig(name, setup).numKeyValueHeads(),
                    rank), data, setup, dir, tokenizer, built, none);
        }
    }

    /**
     * Adds (or replaces) the relaxed rows in an existing table: trains the not-shared row again with
     * the table's setup on both splits (same seed and budget), relaxes it at each rank and
     * fine-tunes; keeps every other row and the table's note.
     *
     * @param outDir where TRADEOFF.md and tradeoff.json are
     * @param dataDir the corpus
     * @param work where the models are written
     * @param log progress
     * @throws Exception when a step fails
     */
    public static void addRelaxed(final Path outDir, final Path dataDir, final Path work, final PrintStream log)
            throws Exception {
        final long start = System.nanoTime();
        final Stored stored = Stored.read(outDir);
        final Setup setup = stored.setup();
        final List<Corpus.Message> messages = Corpus.read(dataDir);
        final Map<String, Map<String, Evaluation>> metrics = new LinkedHashMap<>();
        final Map<String, Map<String, Path>> exitModels = new LinkedHashMap<>();
        final Map<String, Map<String, SplitExits>> exitMetrics = new LinkedHashMap<>();
        Map<String, Path> randomModels = null;
        for (final String split : SPLITS) {
            final Path dir = work.resolve(split);
            final Path tokenizer = dir.resolve("tokenizer");
            final Datasets.Tokenized data = prepare(dataDir, split, messages, tokenizer, setup);
            final Checkpoint none = train(log, split, NOT_SHARED, rowConfig(NOT_SHARED, setup), data, setup, dir,
                    tokenizer, new LinkedHashMap<>());
            final Map<String, Path> built = new LinkedHashMap<>();
            relaxedRows(log, split, none, data, setup, dir, tokenizer, built);
            for (final Map.Entry<String, Path> e : built.entrySet()) {
                try (InferenceModel m = InferenceModel.load(e.getValue())) {
                    final Evaluation eval = Evaluation.of(m, data.test(), 32);
                    metrics.computeIfAbsent(e.getKey(), k -> new LinkedHashMap<>()).put(split, eval);
                    log.printf(Locale.ROOT, "%s / %s: accuracy %.4f, spam F1 %.4f, ROC-AUC %.4f%n", split, e.getKey(),
                            eval.accuracy(), eval.f1(), eval.rocAuc());
                }
            }
            exits(log, split, built, data, setup, dir, tokenizer, exitModels, exitMetrics);
            if (randomModels == null) {
                randomModels = built;
            }
        }
        final List<Row> added = new ArrayList<>();
        for (final Map.Entry<String, Path> e : randomModels.entrySet()) {
            added.add(row(e.getKey(), e.getValue(), metrics, exitModels, exitMetrics, setup, log));
        }
        final List<Row> rows = new ArrayList<>();
        boolean placed = false;
        for (final Row r : stored.rows()) {
            if (!r.name().startsWith(RELAXED)) {
                rows.add(r);
            }
            if (r.name().equals(CONVERTED)) {
                rows.addAll(added);
                placed = true;
            }
        }
        if (!placed) {
            rows.addAll(added);
        }
        final double minutes = (System.nanoTime() - start) / 60e9;
        write(rows, setup, stored.seconds(), stored.command(), outDir, noteWith(outDir, "The relaxed rows were added",
                String.format(Locale.ROOT, "The relaxed rows were added on %s by `java -jar cli/target/streamformer.jar"
                        + " model tradeoff --add-relaxed` in %.0f minutes (the not-shared model trained again with this"
                        + " setup on each split, made all-shared with rank-r deltas by truncated SVD, then %d epoch(s)"
                        + " of fine-tuning with distillation from it, the converted row's recipe, and as every row"
                        + " %d more with exits).",
                        java.time.LocalDate.now(), minutes, setup.finetuneEpochs(), setup.finetuneEpochs())));
    }

    /** The note under the table with one paragraph (starting with marker) added or replaced. */
    private static String noteWith(final Path outDir, final String marker, final String paragraph) throws IOException {
        String note = note(outDir);
        final int old = note.indexOf(marker);
        if (old >= 0) {
            final int end = note.indexOf("\n\n", old);
            note = (note.substring(0, old) + (end < 0 ? "" : note.substring(end))).strip();
        }
        return (note.isEmpty() ? "" : note + "\n\n") + paragraph;
    }

    /** @return the paragraphs under the generated tables of {@code outDir}'s TRADEOFF.md, "" when none */
    private static String note(final Path outDir) throws IOException {
        final String md = Files.readString(outDir.resolve("TRADEOFF.md"));
        final int chart = md.indexOf(SIZE_CHART);
        // The note follows the last generated table (the early-exit table, where there is one).
        final int tableEnd = md.indexOf("\n\n", md.lastIndexOf("|---|", chart < 0 ? md.length() : chart));
        return tableEnd >= 0 && chart > tableEnd ? md.substring(tableEnd, chart).strip() : "";
    }

    /**
     * Writes TRADEOFF.md's generated part and the charts again from tradeoff.json, keeping the note
     * under the tables and every section written by hand: after editing either, or after a change to
     * how the table is drawn.
     *
     * @param outDir where TRADEOFF.md and tradeoff.json are
     * @throws IOException when reading or writing fails
     */
    public static void redraw(final Path outDir) throws IOException {
        final Stored stored = Stored.read(outDir);
        final String note = note(outDir);
        write(stored.rows(), stored.setup(), stored.seconds(), stored.command(), outDir, note.isEmpty() ? null : note);
    }

    /**
     * @param work where a run keeps its models
     * @param setup the run's setup
     * @return how many models in {@code work} a run with this setup takes as they are
     */
    public static int savedModels(final Path work, final Setup setup) throws IOException {
        int n = 0;
        for (final String split : SPLITS) {
            final Path dir = work.resolve(split);
            if (Files.isDirectory(dir)) {
                try (var models = Files.list(dir)) {
                    for (final Path m : (Iterable<Path>) models::iterator) {
                        n += cached(m, setup) ? 1 : 0;
                    }
                }
            }
        }
        return n;
    }

    /**
     * The classic baseline's row: {@link ClassicFilter} trained and tested on both splits. Its
     * records/s are messages classified from their text (features included) by one caller per core;
     * it has no resident-memory figure (it runs inside this JVM).
     *
     * @param messages the corpus
     * @param log progress
     * @return the row
     */
    static Row classicRow(final List<Corpus.Message> messages, final PrintStream log) {
        final Map<String, Evaluation> metrics = new LinkedHashMap<>();
        ClassicFilter random = null;
        List<Corpus.Message> randomTest = null;
        for (final String split : SPLITS) {
            final Corpus.Split parts = Corpus.split(split, messages, Datasets.SPLIT_SEED);
            final ClassicFilter filter = ClassicFilter.train(parts.train(), ClassicFilter.Settings.defaults());
            final Evaluation eval = ClassicFilter.evaluate(filter, parts.test()).evaluation();
            metrics.put(split, eval);
            log.printf(Locale.ROOT, "%s / %s: accuracy %.4f, spam F1 %.4f, ROC-AUC %.4f%n", split, CLASSIC,
                    eval.accuracy(), eval.f1(), eval.rocAuc());
            if (random == null) {
                random = filter;
                randomTest = parts.test();
            }
        }
        final double speed = ClassicFilter.throughput(random, randomTest, SERVING.callers());
        log.printf(Locale.ROOT, "measured %s: %.1f records/s%n", CLASSIC, speed);
        return new Row(CLASSIC, random.parameters(), random.bytes(), metrics, speed, -1);
    }

    /**
     * Adds (or replaces) the classic baseline's row in an existing table, keeping every other row
     * and the table's note.
     *
     * @param outDir where TRADEOFF.md and tradeoff.json are
     * @param dataDir the corpus
     * @param log progress
     * @throws Exception when a step fails
     */
    public static void addBaseline(final Path outDir, final Path dataDir, final PrintStream log) throws Exception {
        final Stored stored = Stored.read(outDir);
        final List<Row> rows = new ArrayList<>(stored.rows().stream().filter(r -> !r.name().equals(CLASSIC)).toList());
        rows.add(classicRow(Corpus.read(dataDir), log));
        final String note = noteWith(outDir, "The classic row was added", "The classic row was added on "
                + java.time.LocalDate.now() + " by `java -jar cli/target/streamformer.jar model tradeoff --add-baseline` ("
                + ClassicFilter.DESCRIPTION + "); its records/s are e-mails classified from their text, features"
                + " included, one caller per core; the Transformers' start from token ids. Its file MB is its fp32"
                + " weights and IDF table; it has no RSS figure.");
        write(rows, stored.setup(), stored.seconds(), stored.command(), outDir, note);
    }

    /**
     * Measures the records/s and resident-memory columns again without training: every row's
     * architecture (and dtype) gets seeded random weights, which run exactly as fast as trained
     * ones; accuracy, sizes and the rest of the table are kept from {@code tradeoff.json}.
     *
     * @param outDir where TRADEOFF.md and tradeoff.json are
     * @param work scratch space for the models
     * @param log progress
     * @throws Exception when a step fails
     */
    public static void remeasure(final Path outDir, final Path work, final PrintStream log) throws Exception {
        final Stored stored = Stored.read(outDir);
        final List<Row> rows = new ArrayList<>();
        for (final Row r : stored.rows()) {
            final Path dir = work.resolve(r.name().replaceAll("[^a-zA-Z0-9]+", "-"));
            architecture(r.name(), stored.setup()).save(dir);
            final double speed = ModelBenchmark.run(List.of(ModelBenchmark.Variant.of(dir, InferenceEngine.DEFAULT)),
                    List.of(SERVING), List.of(8), stored.setup().maxLength(), 5).rows().get(0).recordsPerSecond();
            final long rss = MemoryProbe.measure(dir, InferenceEngine.DEFAULT, true)[2];
            log.printf(Locale.ROOT, "measured %s: %.1f records/s, RSS %.0f MB%n", r.name(), speed, rss / 1e6);
            rows.add(new Row(r.name(), r.uniqueParameters(), r.fileBytes(), r.metrics(), speed, rss, r.exits()));
        }
        write(rows, stored.setup(), stored.seconds(), stored.command(), outDir, String.format(Locale.ROOT,
                "records/s and RSS re-measured on %s by `java -jar cli/target/streamformer.jar model tradeoff"
                        + " --remeasure` (same architectures and dtypes, seeded random weights; accuracy, and the"
                        + " early-exit figures, which need the trained exits, from the training run).",
                java.time.LocalDate.now()));
    }

    private static final String SIZE_CHART = "![accuracy against size]";
    private static final String EXITS_CHART = "![early exit: accuracy against records/s]";

    /** Each row at full depth and at its policy: records/s on the bundled mail against random-split accuracy. */
    private static void exitsChart(final List<Row> rows, final Path png) throws IOException {
        final List<Row> with = rows.stream().filter(r -> r.exits() != null).toList();
        final XYChart chart = new XYChartBuilder().width(900).height(560)
                .title("Early exit: each row at full depth and at its policy (batch 8, one caller per core)")
                .xAxisTitle("records/s on the bundled mail").yAxisTitle("test accuracy, random split").build();
        chart.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        chart.getStyler().setMarkerSize(10);
        chart.addSeries("full depth", with.stream().mapToDouble(r -> r.exits().fullDepthRecordsPerSecond()).toArray(),
                with.stream().mapToDouble(r -> r.exits().bySplit().get("random").fullDepth().accuracy()).toArray());
        chart.addSeries("early exit at the row's policy", with.stream()
                .mapToDouble(r -> r.exits().atPolicyRecordsPerSecond()).toArray(), with.stream()
                .mapToDouble(r -> r.exits().bySplit().get("random").atPolicy().accuracy()).toArray());
        BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
    }

    /** What tradeoff.json holds. */
    private record Stored(Setup setup, double seconds, String command, List<Row> rows) {

        /** @return the tradeoff.json of {@code outDir} */
        static Stored read(final Path outDir) throws IOException {
            return new GsonBuilder().create().fromJson(Files.readString(outDir.resolve("tradeoff.json")), Stored.class);
        }
    }

    /**
     * The architecture of a row: what it is trained as, or (converted, pruned and int8 rows) the
     * all-shared model it is made from.
     */
    static ModelConfig rowConfig(final String row, final Setup setup) {
        final ModelConfig base = config(setup);
        if (row.startsWith(RELAXED)) {
            final int from = RELAXED.length();
            return base.withPlan(SharingPlan.ALL).withRelaxRank(Integer.parseInt(row.substring(from, row.indexOf(' ', from))));
        }
        return switch (row) {
            case NOT_SHARED -> base.withPlan(SharingPlan.NONE);
            case ALL_SHARED, CONVERTED, PRUNED, INT8 -> base.withPlan(SharingPlan.ALL);
            case ATTENTION_ONLY -> base.withPlan(SharingPlan.ATTENTION_ONLY);
            case FFN_ONLY -> base.withPlan(SharingPlan.FFN_ONLY);
            case GROUPS_SEQUENCE -> base.withPlan(SharingPlan.both(SharingStrategy.SEQUENCE, 3));
            case GROUPS_CYCLE -> base.withPlan(SharingPlan.both(SharingStrategy.CYCLE, 3));
            case ONE_KV_HEAD -> base.withPlan(SharingPlan.ALL).withKeyValueHeads(1);
            default -> throw new IllegalArgumentException("Unknown trade-off row '" + row + "'");
        };
    }

    /** A row's architecture and dtype with seeded random weights. */
    static Checkpoint architecture(final String row, final Setup setup) {
        final Checkpoint random = Checkpoint.random(rowConfig(row, setup), setup.training().seed());
        return switch (row) {
            case PRUNED -> Prune.prune(random, setup.heads() / 2, setup.intermediate() / 2);
            case INT8 -> Quantize.int8(random);
            default -> random;
        };
    }

    private static ModelConfig config(final Setup s) {
        return new ModelConfig(s.vocab(), s.embedding(), s.hidden(), s.layers(), s.heads(), s.heads(), s.intermediate(),
                s.maxLength(), 2, Activation.GELU_NEW, 1e-12, true, SharingPlan.NONE, Corpus.LABELS);
    }

    private static Checkpoint train(final PrintStream log, final String split, final String name,
            final ModelConfig config, final Datasets.Tokenized data, final Setup setup, final Path dir,
            final Path tokenizer, final Map<String, Path> built) throws IOException {
        final Path before = savedBefore(log, split, name, "trained", dir, setup);
        if (before != null) {
            built.put(name, before);
            return Checkpoint.load(before);
        }
        log.printf("== %s: %s (%s)%n", split, name, config.plan().describe());
        final Checkpoint trained = ModelTrainer.train(Checkpoint.random(config, setup.training().seed()), data.train(),
                null, setup.training(), log, (epoch, model) -> { });
        return save(trained, name, dir, tokenizer, built, setup);
    }

    private static Checkpoint finetune(final PrintStream log, final String split, final String name,
            final Checkpoint start, final Datasets.Tokenized data, final Setup setup, final Path dir,
            final Path tokenizer, final Map<String, Path> built, final Checkpoint teacher) throws IOException {
        final Path before = savedBefore(log, split, name, "fine-tuned", dir, setup);
        if (before != null) {
            built.put(name, before);
            return Checkpoint.load(before);
        }
        log.printf("== %s: %s (fine-tune %d epochs%s)%n", split, name, setup.finetuneEpochs(),
                teacher == null ? "" : ", distilling from the not-shared model");
        final ModelTrainer.Settings t = setup.training();
        final float[][] soft;
        if (teacher != null) {
            try (InferenceModel m = new InferenceModel("teacher", "t", teacher)) {
                soft = ModelTrainer.teacherProbabilities(m, data.train(), 2);
            }
        } else {
            soft = null;
        }
        final ModelTrainer.Settings s = new ModelTrainer.Settings(setup.finetuneEpochs(), t.batchSize(),
                t.learningRate() / 2, t.warmupFraction(), t.weightDecay(), t.seed(), t.threads(),
                teacher == null ? 0 : 0.5, teacher == null ? 1 : 2);
        final Checkpoint tuned = ModelTrainer.train(start, data.train(), soft, s, log, (epoch, model) -> { });
        return save(tuned, name, dir, tokenizer, built, setup);
    }

    private static Checkpoint save(final Checkpoint model, final String name, final Path dir, final Path tokenizer,
            final Map<String, Path> built) throws IOException {
        return save(model, name, dir, tokenizer, built, null);
    }

    /** Saves a row's model; with a setup, marks it as trained with it, so that a rerun takes it as it is. */
    private static Checkpoint save(final Checkpoint model, final String name, final Path dir, final Path tokenizer,
            final Map<String, Path> built, final Setup setup) throws IOException {
        final Path out = modelPath(dir, name);
        ModelDirectory.save(model, tokenizer, out);
        if (setup != null) {
            Files.writeString(out.resolve(TRAINED_WITH), new GsonBuilder().create().toJson(setup));
        }
        built.put(name, out);
        return model;
    }

    /** Beside a row's model: the setup it was trained with, written once it is saved. */
    private static final String TRAINED_WITH = "tradeoff-setup.json";

    private static Path modelPath(final Path dir, final String name) {
        return dir.resolve(name.replaceAll("[^a-zA-Z0-9]+", "-"));
    }

    /**
     * @return whether a row's model was saved by a run with this setup (so an interrupted run, rerun,
     *     goes on where it stopped); the split's vocabulary is learned again and must come out the same
     */
    private static boolean cached(final Path model, final Setup setup) throws IOException {
        final Path marker = model.resolve(TRAINED_WITH);
        return Files.isRegularFile(marker) && Files.readString(marker).equals(new GsonBuilder().create().toJson(setup));
    }

    /**
     * @return the row's model when a run with this setup saved it (and says so: "trained before", "fine-tuned
     *     before"), null when it must be built
     */
    private static Path savedBefore(final PrintStream log, final String split, final String name, final String verb,
            final Path dir, final Setup setup) throws IOException {
        final Path model = modelPath(dir, name);
        if (!cached(model, setup)) {
            return null;
        }
        log.printf("== %s: %s (%s before with this setup: %s)%n", split, name, verb, model);
        return model;
    }

    /**
     * Writes TRADEOFF.md, tradeoff.json and tradeoff.png.
     *
     * @param rows the rows
     * @param setup the setup
     * @param seconds how long building took
     * @param command the command that regenerates the table
     * @param outDir the directory
     * @param note a line printed under the table, or null
     * @throws IOException when writing fails
     */
    public static void write(final List<Row> rows, final Setup setup, final double seconds, final String command,
            final Path outDir, final String note) throws IOException {
        Files.createDirectories(outDir);
        final StringBuilder md = new StringBuilder("# Sharing and compression trade-offs\n\n");
        md.append(String.format(Locale.ROOT, "Every row: E=%d, H=%d, L=%d, A=%d, F=%d, vocabulary %d learned on the"
                + " split's training part, %d tokens per e-mail, %d epochs of AdamW (peak lr %.0e, batch %d, seed %d)."
                + " Fine-tuned rows add %d epochs. Accuracy and spam F1 on each split's test part; records/s at batch 8"
                + " x %d tokens on ONNX Runtime, one caller per core on one intra-op thread each; resident memory of"
                + " a JVM serving the model. Regenerated by `%s`"
                + " in %.0f minutes.%n%n", setup.embedding(), setup.hidden(), setup.layers(), setup.heads(),
                setup.intermediate(), setup.vocab(), setup.maxLength(), setup.training().epochs(),
                setup.training().learningRate(), setup.training().batchSize(), setup.training().seed(),
                setup.finetuneEpochs(), setup.maxLength(), command, seconds / 60));
        final boolean exits = rows.stream().anyMatch(r -> r.exits() != null);
        md.append("| model | unique params | file MB | acc random | F1 random | acc later | F1 later | records/s | RSS MB |"
                + (exits ? " mean layers at policy (random) | records/s at policy (mail) |" : "") + "\n");
        md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|" + (exits ? "---:|---:|" : "") + "\n");
        for (final Row r : rows) {
            final Evaluation a = r.metrics().get("random");
            final Evaluation b = r.metrics().get("later");
            md.append(String.format(Locale.ROOT, "| %s | %,d | %.2f | %.4f | %.4f | %.4f | %.4f | %.1f | %s |",
                    r.name(), r.uniqueParameters(), r.fileBytes() / 1e6, a.accuracy(), a.f1(), b.accuracy(), b.f1(),
                    r.recordsPerSecond(), r.residentBytes() < 0 ? "-" : String.format(Locale.ROOT, "%.0f",
                            r.residentBytes() / 1e6)));
            if (exits) {
                md.append(r.exits() == null ? " - | - |" : String.format(Locale.ROOT, " %.2f | %.1f |",
                        r.exits().bySplit().get("random").meanLayers(), r.exits().atPolicyRecordsPerSecond()));
            }
            md.append('\n');
        }
        if (exits) {
            md.append(String.format(Locale.ROOT, "%nEarly exit: each row's model after %d more epoch(s) with an exit after"
                    + " every layer (shared heads for all-shared plans, one per layer otherwise), the policy chosen on"
                    + " each split's validation part for at most %.1f points of accuracy, scored on its test part;"
                    + " records/s on the bundled mail at batch 8, one caller per core, the single graph at full depth and"
                    + " early exit under the random split's policy timed in alternation.%n%n", setup.finetuneEpochs(),
                    EXIT_MAX_LOSS_POINTS));
            md.append("| model | exit heads | policy random | acc full / at policy random | layers random | policy later"
                    + " | acc full / at policy later | layers later | records/s full depth (mail) | at policy |\n");
            md.append("|---|---|---|---:|---:|---|---:|---:|---:|---:|\n");
            for (final Row r : rows) {
                if (r.exits() == null) {
                    continue;
                }
                final SplitExits a = r.exits().bySplit().get("random");
                final SplitExits b = r.exits().bySplit().get("later");
                md.append(String.format(Locale.ROOT, "| %s | %s | %s | %.4f / %.4f | %.2f | %s | %.4f / %.4f | %.2f |"
                        + " %.1f | %.1f (%.2fx) |%n", r.name(), r.exits().heads(), a.policy(), a.fullDepth().accuracy(),
                        a.atPolicy().accuracy(), a.meanLayers(), b.policy(), b.fullDepth().accuracy(),
                        b.atPolicy().accuracy(), b.meanLayers(), r.exits().fullDepthRecordsPerSecond(),
                        r.exits().atPolicyRecordsPerSecond(), r.exits().atPolicyRecordsPerSecond()
                                / r.exits().fullDepthRecordsPerSecond()));
            }
        }
        if (note != null) {
            md.append('\n').append(note).append('\n');
        }
        md.append("\n" + SIZE_CHART + "(tradeoff.png)\n");
        if (exits) {
            md.append("\n" + EXITS_CHART + "(tradeoff-exits.png)\n");
            exitsChart(rows, outDir.resolve("tradeoff-exits.png"));
        }
        final Path file = outDir.resolve("TRADEOFF.md");
        if (Files.isRegularFile(file)) {
            final String old = Files.readString(file);
            final int kept = old.indexOf(HAND_WRITTEN);
            if (kept >= 0) {
                md.append(old.substring(kept));
            }
        }
        Files.writeString(file, md.toString());
        final Map<String, Object> json = new LinkedHashMap<>();
        json.put("setup", setup);
        json.put("seconds", seconds);
        json.put("command", command);
        json.put("rows", rows);
        Files.writeString(outDir.resolve("tradeoff.json"), new GsonBuilder().setPrettyPrinting()
                .serializeSpecialFloatingPointValues().create().toJson(json));
        final XYChart chart = new XYChartBuilder().width(900).height(560).title("Accuracy against file size")
                .xAxisTitle("model.safetensors, MB").yAxisTitle("test accuracy").build();
        chart.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        chart.getStyler().setMarkerSize(10);
        for (final String split : SPLITS) {
            final double[] x = rows.stream().mapToDouble(r -> r.fileBytes() / 1e6).toArray();
            final double[] y = rows.stream().mapToDouble(r -> r.metrics().get(split).accuracy()).toArray();
            chart.addSeries(split + " split", x, y);
        }
        BitmapEncoder.saveBitmap(chart, outDir.resolve("tradeoff.png").toString(), BitmapEncoder.BitmapFormat.PNG);
    }
}
