package dev.streamformer.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.EngineSettings;
import dev.streamformer.model.InferenceEngine;
import dev.streamformer.text.TextTokenizer;
import dev.streamformer.train.Datasets;
import dev.streamformer.train.Evaluation;
import dev.streamformer.train.ExitEvaluation;
import dev.streamformer.train.Example;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code streamformer model exits}. */
@Command(name = "exits",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {"Choose the exit policy of a model with exit heads: the one that runs the fewest layers per"
                + " e-mail on the validation part while losing at most --max-accuracy-loss points of accuracy against"
                + " running every layer (confidence thresholds 0.5-0.9999, patience 1 to layers-1), and write it"
                + " into the model's config.json (streamformer.exit_policy) as its default.",
            "Every policy tried is printed with its mean layers, exit histogram, accuracy, spam F1 and ROC-AUC."})
final class ModelExitsCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, paramLabel = "<dir>", description = "Model directory with exit heads.")
    private Path model;

    @Option(names = "--data", defaultValue = "data/spamassassin", description = "Corpus directory (default: ${DEFAULT-VALUE}).")
    private Path data;

    @Option(names = "--split", defaultValue = "random", description = "random or later (default: ${DEFAULT-VALUE}).")
    private String split;

    @Option(names = "--part", defaultValue = "validation",
            description = "The part to choose on: validation (default), or train; never test.")
    private String part;

    @Option(names = "--max-accuracy-loss", defaultValue = "0.1", paramLabel = "<points>",
            description = "Accuracy the policy may lose against every layer, in percentage points (default: ${DEFAULT-VALUE}).")
    private double maxLoss;

    @Option(names = "--engine", defaultValue = "onnxruntime", converter = EngineOption.class,
            description = "Engine of the forward pass: onnxruntime or pytorch (default: ${DEFAULT-VALUE}).")
    private InferenceEngine engine;

    @Option(names = "--threads", defaultValue = "0", description = "Intra-op threads; 0 = the engine's default.")
    private int threads;

    @Option(names = "--dry-run", description = "Print the choice without writing it.")
    private boolean dryRun;

    @Override
    public Integer call() throws Exception {
        if (part.equals("test")) {
            throw new IllegalArgumentException("choose on the validation part (or train), not on test: the test part"
                    + " scores the choice");
        }
        if (maxLoss < 0) {
            throw new IllegalArgumentException("--max-accuracy-loss is a loss in points, 0 or more; got " + maxLoss);
        }
        final Checkpoint checkpoint = Checkpoint.load(model);
        final Datasets.Tokenized tokenized = Datasets.load(data, split, model, TextTokenizer.length(model, null));
        final List<Example> examples = tokenized.part(part);
        final List<ExitEvaluation> tried = ExitEvaluation.choose(ExitEvaluation.depths(checkpoint,
                EngineSettings.of(engine, threads), examples), Evaluation.labels(examples), maxLoss);
        System.out.printf("%s on the %s part of the %s split (%d e-mails), at most %.2f points of accuracy lost:%n",
                model, part, split, examples.size(), maxLoss);
        for (final ExitEvaluation e : tried) {
            System.out.println("  " + e.toLine());
        }
        final ExitEvaluation chosen = tried.get(0);
        System.out.printf(java.util.Locale.ROOT, "chosen: %s (%.2f layers per e-mail of %d)%s%n", chosen.policy(),
                chosen.meanLayers(), checkpoint.config().numLayers(),
                dryRun ? "; not written (--dry-run)" : "; written to " + model.resolve("config.json"));
        if (!dryRun) {
            chosen.policy().write(model);
        }
        return 0;
    }
}
