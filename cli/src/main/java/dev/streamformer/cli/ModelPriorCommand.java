package dev.streamformer.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import dev.streamformer.corpus.Corpus;
import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.ModelDirectory;
import dev.streamformer.train.Datasets;
import dev.streamformer.train.PriorShift;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code streamformer model prior}. */
@Command(name = "prior",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {"Adapt a classifier to traffic whose class shares differ from its training data's (prior"
                + " shift): every probability is reweighted by served share / training share, done by adding"
                + " log(served / training) to the classifier bias. Writes a new model directory (a new version);"
                + " the encoder is untouched.",
            "For example a spam filter trained where 15 %% of mail was spam, serving a mailbox where half is:"
                + " --share spam=0.5."})
final class ModelPriorCommand implements Callable<Integer> {

    /** Written beside the shifted model: the shares before and after. */
    static final String PRIOR_RECORD = "prior.json";
    private static final String SERVED_SHARES = "served_shares";

    @Option(names = "--model", required = true, paramLabel = "<dir>", description = "The trained model.")
    private Path model;

    @Option(names = "--share", required = true, paramLabel = "<label=share>",
            description = "Expected share of a label in the traffic, repeatable; labels not given share the rest in"
                    + " their training proportions.")
    private Map<String, Double> share = new LinkedHashMap<>();

    @Option(names = "--trained-share", paramLabel = "<label=share>",
            description = "Share of a label in the training data, repeatable (default: from the model's training.json,"
                    + " or counted on the training part of the split it names in --data).")
    private Map<String, Double> trainedShare = new LinkedHashMap<>();

    @Option(names = "--data", defaultValue = "data/spamassassin",
            description = "Corpus directory, to count the training shares of a model whose training.json has no"
                    + " counts (default: ${DEFAULT-VALUE}).")
    private Path data;

    @Option(names = "--out", required = true, paramLabel = "<dir>", description = "Directory to write.")
    private Path out;

    @Override
    public Integer call() throws Exception {
        if (!Files.isRegularFile(model.resolve(ModelDirectory.WEIGHTS))
                && Files.isRegularFile(model.resolve(ModelDirectory.ONNX))) {
            throw new IllegalArgumentException(model + " is an ONNX model without " + ModelDirectory.WEIGHTS
                    + ": model prior moves the classifier bias stored there. Shift the model it was exported from"
                    + " and export that again");
        }
        final Checkpoint source = Checkpoint.load(model);
        final List<String> labels = source.config().labels();
        final double[] trained = trainedShares(labels);
        final double[] served = PriorShift.complete(labels, share, trained);
        ModelDirectory.save(PriorShift.shift(source, trained, served), model, out);
        final Map<String, Object> record = new LinkedHashMap<>();
        record.put("command", "prior");
        record.put("source", model.toString());
        record.put("source_version", ModelDirectory.version(model));
        record.put("training_shares", byLabel(labels, trained));
        record.put(SERVED_SHARES, byLabel(labels, served));
        TrainingRun.write(out.resolve(PRIOR_RECORD), record);
        for (int c = 0; c < labels.size(); c++) {
            System.out.printf(Locale.ROOT, "%-12s training share %.4f -> served share %.4f (bias %+.4f)%n", labels.get(c),
                    trained[c], served[c], Math.log(served[c] / trained[c]));
        }
        System.out.printf("wrote %s (version %s)%n", out, ModelDirectory.version(out));
        return 0;
    }

    private static Map<String, Double> byLabel(final List<String> labels, final double[] shares) {
        final Map<String, Double> m = new LinkedHashMap<>();
        for (int c = 0; c < labels.size(); c++) {
            m.put(labels.get(c), shares[c]);
        }
        return m;
    }

    /** The shares the model's probabilities assume now: its training data's, or those of an earlier shift. */
    private double[] trainedShares(final List<String> labels) throws IOException {
        if (!trainedShare.isEmpty()) {
            final double[] even = new double[labels.size()];
            java.util.Arrays.fill(even, 1.0 / labels.size());
            return PriorShift.complete(labels, trainedShare, even);
        }
        final Path shifted = model.resolve(PRIOR_RECORD);
        if (Files.isRegularFile(shifted)) {
            final JsonObject served = JsonParser.parseString(Files.readString(shifted)).getAsJsonObject()
                    .getAsJsonObject(SERVED_SHARES);
            final double[] shares = new double[labels.size()];
            for (int c = 0; c < labels.size(); c++) {
                shares[c] = served.get(labels.get(c)).getAsDouble();
            }
            System.out.printf("%s was shifted before: starting from the shares it serves now (%s)%n", model, shifted);
            return shares;
        }
        final Path record = model.resolve("training.json");
        if (!Files.isRegularFile(record)) {
            throw new IllegalArgumentException(model + " has no training.json to read the training shares from: give"
                    + " them with --trained-share " + labels.get(labels.size() - 1) + "=<share>");
        }
        final JsonObject json = JsonParser.parseString(Files.readString(record)).getAsJsonObject();
        final long[] counts = new long[labels.size()];
        if (json.has(TrainingRun.LABEL_COUNTS)) {
            final JsonObject byLabel = json.getAsJsonObject(TrainingRun.LABEL_COUNTS);
            for (int c = 0; c < labels.size(); c++) {
                counts[c] = byLabel.has(labels.get(c)) ? byLabel.get(labels.get(c)).getAsLong() : 0;
            }
        } else if (json.has("split")) {
            final String split = json.get("split").getAsString();
            for (final Corpus.Message m : Corpus.split(split, Corpus.read(data), Datasets.SPLIT_SEED).train()) {
                counts[m.label()]++;
            }
            System.out.printf("training shares counted on the training part of the %s split in %s%n", split, data);
        } else {
            throw new IllegalArgumentException(record + " names no split and no label counts: give the training"
                    + " shares with --trained-share");
        }
        final long total = java.util.Arrays.stream(counts).sum();
        final double[] shares = new double[labels.size()];
        for (int c = 0; c < labels.size(); c++) {
            if (counts[c] == 0) {
                throw new IllegalArgumentException("No training example of " + labels.get(c) + " in " + record
                        + ": give the training shares with --trained-share");
            }
            shares[c] = counts[c] / (double) total;
        }
        return shares;
    }
}
