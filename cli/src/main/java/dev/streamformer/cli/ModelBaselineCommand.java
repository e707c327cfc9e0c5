package dev.streamformer.cli;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

import com.google.gson.GsonBuilder;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import dev.streamformer.corpus.Corpus;
import dev.streamformer.train.ClassicFilter;
import dev.streamformer.train.Evaluation;

/** {@code streamformer model baseline}. */
@Command(name = "baseline",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {"Train and evaluate the classic spam filter the Transformers are measured against: TF-IDF of word"
                + " 1-2-grams and character 3-5-grams within words (hashed into 2^20 slots, sublinear tf, smoothed idf,"
                + " unit length), logistic regression with balanced class weights (Adagrad, L2).",
            "Prints accuracy, spam precision/recall/F1, ROC-AUC and the confusion matrix on the split's test part, and"
                + " messages/s of one thread classifying the test part (from text, features included)."})
final class ModelBaselineCommand implements Callable<Integer> {

    @Option(names = "--data", defaultValue = "data/spamassassin", description = "Corpus directory (default: ${DEFAULT-VALUE}).")
    private Path data;

    @Option(names = "--split", defaultValue = "random", description = "random or later (default: ${DEFAULT-VALUE}).")
    private String split;

    @Option(names = "--seed", defaultValue = "13", description = "Split seed, as `model train` (default: ${DEFAULT-VALUE}).")
    private long seed;

    @Option(names = "--epochs", defaultValue = "15", description = "Passes over the training part (default: ${DEFAULT-VALUE}).")
    private int epochs;

    @Option(names = "--json", description = "Print JSON.")
    private boolean json;

    @Option(names = "--scores", paramLabel = "<file.csv>",
            description = "Also write each test e-mail's id, label (1 = spam) and p(spam) to this CSV file, as `model"
                    + " eval --scores` does: for comparing or combining the filter's scores with a Transformer's.")
    private Path scores;

    @Override
    public Integer call() throws Exception {
        final Corpus.Split parts = Corpus.split(split, Corpus.read(data), seed);
        final ClassicFilter.Settings defaults = ClassicFilter.Settings.defaults();
        final long start = System.nanoTime();
        final ClassicFilter filter = ClassicFilter.train(parts.train(), new ClassicFilter.Settings(epochs,
                defaults.learningRate(), defaults.l2(), defaults.seed()));
        final double trainSeconds = (System.nanoTime() - start) / 1e9;
        final ClassicFilter.Result r = ClassicFilter.evaluate(filter, parts.test());
        if (scores != null) {
            ScoresFile.write(scores, parts.test().stream().map(Corpus.Message::id).toList(),
                    parts.test().stream().mapToInt(Corpus.Message::label).toArray(), r.spamProbabilities());
        }
        if (json) {
            final Map<String, Object> out = new LinkedHashMap<>();
            out.put("model", "tf-idf + logistic regression");
            out.put("split", split);
            out.put("train_messages", parts.train().size());
            out.put("train_seconds", trainSeconds);
            out.put("messages_per_second", r.messagesPerSecond());
            out.putAll(r.evaluation().toMap());
            System.out.println(new GsonBuilder().setPrettyPrinting().create().toJson(out));
        } else {
            System.out.printf("TF-IDF + logistic regression, trained on %d messages of the %s split in %.1f s;"
                    + " test part:%n%s%.0f messages/s on one thread (features included)%n", parts.train().size(), split,
                    trainSeconds, r.evaluation().toTable(), r.messagesPerSecond());
        }
        return 0;
    }
}
