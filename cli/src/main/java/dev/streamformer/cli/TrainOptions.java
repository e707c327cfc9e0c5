package dev.streamformer.cli;

import java.nio.file.Path;

import dev.streamformer.corpus.Corpus;
import dev.streamformer.train.ModelTrainer;
import picocli.CommandLine.Option;

/** The options shared by {@code model train} and {@code model finetune}. */
final class TrainOptions {

    @Option(names = "--data", defaultValue = "data/spamassassin",
            description = "Corpus directory (`streamformer data fetch`) (default: ${DEFAULT-VALUE}).")
    Path data;

    @Option(names = "--split", defaultValue = "random",
            description = "random (stratified 80/10/10) or later (train on the -1 groups, test on the later -2 groups)"
                    + " (default: ${DEFAULT-VALUE}).")
    String split;

    @Option(names = "--out", required = true, paramLabel = "<dir>", description = "Model directory to write.")
    Path out;

    @Option(names = "--epochs", defaultValue = "3", description = "Passes over the training part (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--batch-size", defaultValue = "16", description = "Examples per step (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--lr", defaultValue = "3e-4", description = "Peak learning rate (default: ${DEFAULT-VALUE}).")
    double learningRate;

    @Option(names = "--warmup", defaultValue = "0.1",
            description = "Share of the steps spent warming up, then linear decay to 0 (default: ${DEFAULT-VALUE}).")
    double warmup;

    @Option(names = "--weight-decay", defaultValue = "0.01", description = "AdamW weight decay (default: ${DEFAULT-VALUE}).")
    double weightDecay;

    @Option(names = "--seed", defaultValue = "42", description = "Initialisation and shuffling seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--max-length", paramLabel = "<tokens>",
            description = "Tokens per e-mail, [CLS] and [SEP] included; written to the model's tokenizer.json as the"
                    + " length it reads texts at (default: 128 for train, the starting model's for finetune).")
    Integer maxLength;

    @Option(names = "--threads", defaultValue = "2", description = "Intra-op threads (default: ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--teacher", paramLabel = "<dir>",
            description = "Distil from this model's probabilities (soft targets) as well as the labels.")
    Path teacher;

    @Option(names = "--classic-teacher", paramLabel = "<folds>",
            description = "Distil from the classic filter (`model baseline`: TF-IDF + logistic regression) as well as the"
                    + " labels: its out-of-fold probabilities on the training part, each e-mail scored by a filter"
                    + " trained on the other folds (for example 5); instead of --teacher.")
    Integer classicTeacher;

    @Option(names = "--distill-weight", defaultValue = "0.5",
            description = "Weight of the teacher's soft targets with --teacher or --classic-teacher (default:"
                    + " ${DEFAULT-VALUE}).")
    double distillWeight;

    @Option(names = "--temperature", defaultValue = "2",
            description = "Softmax temperature of the distillation (default: ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--class-weights", defaultValue = "none",
            description = "none, or balanced: weigh each e-mail's loss by n / (2 x n of its class), as if spam and ham"
                    + " were equally frequent; for traffic whose spam share differs from the training part's"
                    + " (default: ${DEFAULT-VALUE}).")
    String classWeights;

    @Option(names = "--dropout", defaultValue = "0",
            description = "Probability of zeroing an activation while training (embeddings, attention probabilities,"
                    + " attention and feed-forward outputs, the pooled vector), BERT's regulariser; serving never"
                    + " drops (default: ${DEFAULT-VALUE}).")
    double dropout;

    @Option(names = "--exits", paramLabel = "<heads>",
            description = "Train a classifier read after every layer, for early exit: shared (the model's own pooler"
                    + " and classifier read every depth) or per-layer (a pooler and classifier of its own after every"
                    + " layer but the last, starting as copies of the model's); none removes them. The loss is the"
                    + " sum over depths of each exit's cross-entropy weighted by its depth (default: the starting"
                    + " model's; none for train).")
    String exits;

    @Option(names = "--exit-distill", defaultValue = "0", paramLabel = "<weight>",
            description = "With exits: weight of the last exit's probabilities as soft targets of the earlier exits,"
                    + " 0-1 (default: ${DEFAULT-VALUE}, the labels alone).")
    double exitDistill;

    @Option(names = "--average-last", defaultValue = "1", paramLabel = "<k>",
            description = "Write the element-wise mean of the weights after the last k epochs (as `model average`"
                    + " of their checkpoints), not the last epoch's alone; 1 = the last epoch (default:"
                    + " ${DEFAULT-VALUE}).")
    int averageLast;

    ModelTrainer.Settings settings() {
        if (averageLast < 1 || averageLast > epochs) {
            throw new IllegalArgumentException("--average-last must be 1-" + epochs + " (the epochs), got " + averageLast);
        }
        if (!classWeights.equals("none") && !classWeights.equals("balanced")) {
            throw new IllegalArgumentException("--class-weights must be none or balanced, got '" + classWeights + "'");
        }
        if (teacher != null && classicTeacher != null) {
            throw new IllegalArgumentException("give --teacher <dir> or --classic-teacher <folds>, not both");
        }
        if (classicTeacher != null && classicTeacher < 2) {
            throw new IllegalArgumentException("--classic-teacher needs at least 2 folds (5 is usual), got "
                    + classicTeacher);
        }
        if (distillWeight < 0 || distillWeight > 1) {
            throw new IllegalArgumentException("--distill-weight must be 0-1, got " + distillWeight);
        }
        if (temperature <= 0) {
            throw new IllegalArgumentException("--temperature must be above 0, got " + temperature);
        }
        if (exits != null) {
            dev.streamformer.model.ExitHeads.parse(exits);
        }
        if (exitDistill < 0 || exitDistill > 1) {
            throw new IllegalArgumentException("--exit-distill must be 0-1, got " + exitDistill);
        }
        final boolean distil = teacher != null || classicTeacher != null;
        return new ModelTrainer.Settings(epochs, batchSize, learningRate, warmup, weightDecay, seed, threads,
                distil ? distillWeight : 0, distil ? temperature : 1,
                classWeights.equals("balanced"), dropout, exitDistill);
    }
}
