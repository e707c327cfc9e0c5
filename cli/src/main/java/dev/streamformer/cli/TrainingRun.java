package dev.streamformer.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.google.gson.GsonBuilder;

import dev.streamformer.corpus.Corpus;
import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.EngineSettings;
import dev.streamformer.model.ExitHeads;
import dev.streamformer.model.InferenceEngine;
import dev.streamformer.model.InferenceModel;
import dev.streamformer.model.ModelDirectory;
import dev.streamformer.model.ParameterStats;
import dev.streamformer.text.internals.TokenizerFiles;
import dev.streamformer.train.ClassicFilter;
import dev.streamformer.train.Datasets;
import dev.streamformer.train.Example;
import dev.streamformer.train.Evaluation;
import dev.streamformer.train.ExitEvaluation;
import dev.streamformer.train.ModelTrainer;
import dev.streamformer.train.WeightAverage;

/** Runs training from the options of train or finetune and writes the model directory. */
final class TrainingRun {

    /** The training.json key of the training examples per label (label name to count). */
    static final String LABEL_COUNTS = "train_label_counts";

    private TrainingRun() {
    }

    /**
     * @param defaultLength the tokens per e-mail without --max-length
     */
    /** The accuracy the default exit policy may lose against full depth, in points. */
    static final double DEFAULT_EXIT_LOSS_POINTS = 0.1;

    static int run(final String command, final Checkpoint start, final Path tokenizerDir, final TrainOptions o,
            final int defaultLength) throws Exception {
        final long startedNs = System.nanoTime();
        final Checkpoint initial = o.exits == null ? start : start.withExits(ExitHeads.parse(o.exits));
        if (initial.config().exits() != ExitHeads.NONE) {
            System.out.printf("%s: exit heads %s, every depth's loss weighted by its depth%s%n", command,
                    initial.config().exits(), o.exitDistill > 0 ? String.format(java.util.Locale.ROOT,
                            ", earlier exits distilled from the last (weight %.2f)", o.exitDistill) : "");
        }
        final ModelTrainer.Settings settings = o.settings();
        final int maxLength = o.maxLength != null ? o.maxLength : defaultLength;
        if (maxLength < 2 || maxLength > initial.config().maxPositions()) {
            throw new IllegalArgumentException("--max-length must be 2-" + initial.config().maxPositions()
                    + " (the model's max_position_embeddings), got " + maxLength);
        }
        System.out.printf("%s: %s%n", command, ParameterStats.of(initial).plan());
        final Datasets.Tokenized data = Datasets.load(o.data, o.split, tokenizerDir, maxLength);
        System.out.printf("split %s: %d train, %d validation, %d test examples (at most %d tokens)%n", o.split,
                data.train().size(), data.validation().size(), data.test().size(), maxLength);
        float[][] teacher = null;
        if (o.teacher != null) {
            try (InferenceModel t = InferenceModel.load(o.teacher)) {
                teacher = ModelTrainer.teacherProbabilities(t, data.train(), o.temperature);
            }
            System.out.printf("distilling from %s (weight %.2f, temperature %.1f)%n", o.teacher, o.distillWeight,
                    o.temperature);
        } else if (o.classicTeacher != null) {
            teacher = classicTeacher(o, data.train(), initial.config().labels());
            System.out.printf("distilling from the classic filter's out-of-fold probabilities (%d folds, weight %.2f,"
                    + " temperature %.1f)%n", o.classicTeacher, o.distillWeight, o.temperature);
        }
        final Map<String, Object> history = new LinkedHashMap<>();
        final List<Checkpoint> averaged = new ArrayList<>();
        final Checkpoint last = ModelTrainer.train(initial, data.train(), teacher, settings, System.out,
                (epoch, model) -> {
                    final Path dir = o.out.resolve("checkpoints").resolve("epoch-" + epoch);
                    model.save(dir);
                    if (epoch > settings.epochs() - o.averageLast) {
                        averaged.add(model);
                    }
                    history.put("epoch_" + epoch + "_validation", validate("epoch " + epoch, model, data));
                });
        final Checkpoint trained;
        if (averaged.size() > 1) {
            trained = WeightAverage.of(averaged);
            history.put("average_validation", validate("mean of the last " + averaged.size() + " epochs", trained,
                    data));
        } else {
            trained = last;
        }
        ModelDirectory.save(trained, tokenizerDir, o.out);
        TokenizerFiles.writeInputLength(o.out, maxLength);
        final Map<String, Object> record = new LinkedHashMap<>();
        if (trained.config().exits() != ExitHeads.NONE && !data.validation().isEmpty()) {
            // The default exit policy: the fewest layers within a tenth of a point of full depth's accuracy.
            final ExitEvaluation chosen = ExitEvaluation.choose(ExitEvaluation.depths(trained,
                    EngineSettings.of(InferenceEngine.DEFAULT, o.threads), data.validation()),
                    Evaluation.labels(data.validation()), DEFAULT_EXIT_LOSS_POINTS).get(0);
            chosen.policy().write(o.out);
            record.put("exit_policy", chosen.toMap());
            System.out.printf("exit policy on the validation part: %s%n  (written to config.json; `model exits` chooses"
                    + " again for another accuracy loss)%n", chosen.toLine());
        }
        record.put("command", command);
        record.put("split", o.split);
        record.put("settings", settings);
        record.put("max_length", maxLength);
        record.put("average_last", averaged.size());
        record.put("teacher", o.teacher != null ? o.teacher.toString()
                : o.classicTeacher != null ? "classic filter, " + o.classicTeacher + " folds out of fold" : null);
        record.put("train_examples", data.train().size());
        final Map<String, Long> byLabel = new LinkedHashMap<>();
        for (final String label : trained.config().labels()) {
            byLabel.put(label, 0L);
        }
        data.train().forEach(e -> byLabel.merge(trained.config().labels().get(e.label()), 1L, Long::sum));
        record.put(LABEL_COUNTS, byLabel);
        record.put("history", history);
        record.put("seconds", (System.nanoTime() - startedNs) / 1e9);
        write(o.out.resolve("training.json"), record);
        System.out.printf("wrote %s (version %s) in %.0f s%n", o.out, ModelDirectory.version(o.out),
                (System.nanoTime() - startedNs) / 1e9);
        return 0;
    }

    /**
     * The classic filter's out-of-fold p(spam) of each training example, as two-class probabilities at
     * the distillation temperature: softmax of (0, logit) / T.
     */
    private static float[][] classicTeacher(final TrainOptions o, final List<Example> train,
            final List<String> labels) throws IOException {
        if (!labels.equals(Corpus.LABELS)) {
            throw new IllegalArgumentException("--classic-teacher scores ham and spam; this model's labels are "
                    + labels);
        }
        final List<Corpus.Message> messages = Corpus.split(o.split, Corpus.read(o.data), Datasets.SPLIT_SEED).train();
        final long start = System.nanoTime();
        final double[] p = ClassicFilter.outOfFold(messages, o.classicTeacher, ClassicFilter.Settings.defaults(),
                fold -> System.out.printf("classic filter: fold %d of %d scored (%.0f s)%n", fold, o.classicTeacher,
                        (System.nanoTime() - start) / 1e9));
        final Map<String, Double> byId = new HashMap<>();
        for (int i = 0; i < p.length; i++) {
            byId.put(messages.get(i).id(), p[i]);
        }
        final float[][] out = new float[train.size()][];
        for (int i = 0; i < out.length; i++) {
            final Double spam = byId.get(train.get(i).id());
            if (spam == null) {
                throw new IllegalStateException("no classic-filter score for training e-mail " + train.get(i).id());
            }
            final double logit = Math.log(Math.max(spam, 1e-12) / Math.max(1 - spam, 1e-12)) / o.temperature;
            final float s = (float) (1 / (1 + Math.exp(-logit)));
            out[i] = new float[] {1 - s, s};
        }
        return out;
    }

    private static Map<String, Object> validate(final String what, final Checkpoint model,
            final Datasets.Tokenized data) {
        try (InferenceModel m = new InferenceModel(what, "training", model)) {
            final Evaluation e = Evaluation.of(m, data.validation(), 32);
            System.out.printf("%s validation: %s", what, e.toTable());
            return e.toMap();
        }
    }

    static void write(final Path file, final Object json) throws IOException {
        Files.writeString(file, new GsonBuilder().setPrettyPrinting().serializeNulls().create().toJson(json) + "\n");
    }
}
