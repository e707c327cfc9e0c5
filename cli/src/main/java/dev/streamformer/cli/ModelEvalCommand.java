package dev.streamformer.cli;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import com.google.gson.GsonBuilder;

import dev.streamformer.corpus.Corpus;
import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.DefaultModel;
import dev.streamformer.model.EngineSettings;
import dev.streamformer.model.ExitHeads;
import dev.streamformer.model.ExitPolicy;
import dev.streamformer.model.InferenceEngine;
import dev.streamformer.model.InferenceModel;
import dev.streamformer.model.ModelConfig;
import dev.streamformer.text.TextTokenizer;
import dev.streamformer.train.Datasets;
import dev.streamformer.train.Evaluation;
import dev.streamformer.train.ExitEvaluation;
import dev.streamformer.train.Example;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code streamformer model eval}. */
@Command(name = "eval",
        mixinStandardHelpOptions = true,
        description = {"Accuracy, spam precision, recall and F1, ROC-AUC and the confusion matrix of a model on a split.",
            "A model with exit heads is scored under its exit policy (or --exit), with the mean number of layers run"
                + " per e-mail and the histogram of the layers they left after."})
final class ModelEvalCommand implements Callable<Integer> {

    @Option(names = "--model", paramLabel = "<dir>",
            description = "Model directory, with tokenizer.json (default: the shipped model).")
    private Path model;

    @Option(names = "--data", defaultValue = "data/spamassassin", description = "Corpus directory (default: ${DEFAULT-VALUE}).")
    private Path data;

    @Option(names = "--split", defaultValue = "random", description = "random or later (default: ${DEFAULT-VALUE}).")
    private String split;

    @Option(names = "--part", defaultValue = "test", description = "train, validation or test (default: ${DEFAULT-VALUE}).")
    private String part;

    @Option(names = "--max-length", paramLabel = "<tokens>",
            description = "Tokens per e-mail (default: the model's input length, the one it was trained at).")
    private Integer maxLength;

    @Option(names = "--json", description = "Print JSON.")
    private boolean json;

    @Option(names = "--engine", defaultValue = "onnxruntime", converter = EngineOption.class,
            description = "Engine of the forward pass: onnxruntime or pytorch (default: ${DEFAULT-VALUE}).")
    private InferenceEngine engine;

    @Option(names = "--threads", defaultValue = "0",
            description = "Intra-op threads of the forward pass; 0 = one per core (default: ${DEFAULT-VALUE}).")
    private int threads;

    @Option(names = "--exit", paramLabel = "<policy>",
            description = "Exit policy of a model with exit heads: none, confidence:<p> or patience:<t> (default: the"
                    + " model's streamformer.exit_policy, else none).")
    private String exit;

    @Option(names = "--scores", paramLabel = "<file.csv>",
            description = "Also write each e-mail's id, label (1 = spam) and p(spam) to this CSV file, in the part's"
                    + " order: for looking at the errors, or choosing a threshold on the validation part.")
    private Path scores;

    @Override
    public Integer call() throws Exception {
        final Path dir = model != null ? model : DefaultModel.directory();
        final Datasets.Tokenized tokenized = Datasets.load(data, split, dir, TextTokenizer.length(dir, maxLength));
        final ExitPolicy policy = exit != null ? ExitPolicy.parse(exit) : ExitPolicy.read(dir);
        final Checkpoint checkpoint = ModelConfig.read(dir).exits() != ExitHeads.NONE ? Checkpoint.load(dir) : null;
        if (checkpoint == null && policy.kind() != ExitPolicy.Kind.NONE) {
            throw new IllegalArgumentException(dir + " has no exit heads, so it cannot leave early (--exit " + policy
                    + "): train or finetune it with --exits shared or --exits per-layer");
        }
        try (InferenceModel m = InferenceModel.load(dir, EngineSettings.of(engine, threads))) {
            final List<Example> examples = tokenized.part(part);
            final int[] labels = Evaluation.labels(examples);
            final float[][][] depths = checkpoint == null ? null
                    : ExitEvaluation.depths(checkpoint, m.settings(), examples);
            final ExitEvaluation exits = depths == null ? null : ExitEvaluation.of(depths, labels, policy);
            final double[] spam = depths == null ? Evaluation.spamProbabilities(m, examples, 32)
                    : ExitEvaluation.spamAtFullDepth(depths);
            final Evaluation e = exits == null ? Evaluation.of(labels, spam) : exits.metrics();
            if (scores != null) {
                ScoresFile.write(scores, examples.stream().map(Example::id).toList(), labels, spam);
            }
            if (json) {
                final Map<String, Object> out = new LinkedHashMap<>();
                out.put("model", m.name());
                out.put("model_version", m.version());
                out.put("engine", m.engine().configName());
                out.put("split", split);
                out.put("part", part);
                out.putAll(e.toMap());
                if (exits != null) {
                    out.putAll(exits.toMap());
                    out.put("full_depth", Evaluation.of(labels, spam).toMap());
                }
                System.out.println(new GsonBuilder().setPrettyPrinting().create().toJson(out));
            } else {
                System.out.printf("%s (%s) on the %s part of the %s split%s:%n%s", m.name(), m.version(), part, split,
                        exits == null ? "" : ", exit policy " + policy, e.toTable());
                if (exits != null) {
                    System.out.printf(java.util.Locale.ROOT, "layers run per e-mail %.2f of %d; e-mails leaving after"
                            + " layer 1..%d: %s%nat full depth: accuracy %.4f%n", exits.meanLayers(),
                            exits.exitHistogram().length, exits.exitHistogram().length,
                            java.util.Arrays.toString(exits.exitHistogram()), Evaluation.of(labels, spam).accuracy());
                }
            }
        }
        return 0;
    }
}
