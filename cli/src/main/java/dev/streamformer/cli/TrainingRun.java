package dev.streamformer.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.google.gson.GsonBuilder;

import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.InferenceModel;
import dev.streamformer.model.ModelDirectory;
import dev.streamformer.model.ParameterStats;
import dev.streamformer.text.TokenizerFiles;
import dev.streamformer.train.Datasets;
import dev.streamformer.train.Evaluation;
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
    static int run(final String command, final Checkpoint initial, final Path tokenizerDir, final TrainOptions o,
            final int defaultLength) throws Exception {
        final long start = System.nanoTime();
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
        record.put("command", command);
        record.put("split", o.split);
        record.put("settings", settings);
        record.put("max_length", maxLength);
        record.put("average_last", averaged.size());
        record.put("teacher", o.teacher == null ? null : o.teacher.toString());
        record.put("train_examples", data.train().size());
        final Map<String, Long> byLabel = new LinkedHashMap<>();
        for (final String label : trained.config().labels()) {
            byLabel.put(label, 0L);
        }
        data.train().forEach(e -> byLabel.merge(trained.config().labels().get(e.label()), 1L, Long::sum));
        record.put(LABEL_COUNTS, byLabel);
        record.put("history", history);
        record.put("seconds", (System.nanoTime() - start) / 1e9);
        write(o.out.resolve("training.json"), record);
        System.out.printf("wrote %s (version %s) in %.0f s%n", o.out, ModelDirectory.version(o.out),
                (System.nanoTime() - start) / 1e9);
        return 0;
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
