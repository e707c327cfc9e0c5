package dev.streamformer.cli;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.DefaultModel;
import dev.streamformer.model.ModelConfig;
import dev.streamformer.model.ModelDirectory;
import dev.streamformer.model.ParameterStats;
import dev.streamformer.text.internals.TokenizerFiles;
import dev.streamformer.train.Datasets;
import dev.streamformer.train.MaskedLanguageModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code streamformer model pretrain}. */
@Command(name = "pretrain",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {"Pre-train the encoder as a masked language model on the text of a split's training part"
                + " (labels unused): a share of the tokens is masked and the encoder learns to restore them through"
                + " ALBERT's MLM head, tied to the word embeddings. Then fine-tune on the labels with"
                + " `model finetune --model <out>`.",
            "Writes config.json, model.safetensors (the encoder; the head is dropped), the tokenizer files,"
                + " pretraining.json and checkpoints/epoch-N. Prints progress with loss, throughput and ETA."})
final class ModelPretrainCommand implements Callable<Integer> {

    @Option(names = "--config", paramLabel = "<config.json>",
            description = "Architecture and sharing plan of a new model (default: the shipped model's config).")
    private Path config;

    @Option(names = "--model", paramLabel = "<dir>",
            description = "Continue from this model's weights instead of a random initialisation.")
    private Path model;

    @Option(names = "--tokenizer", paramLabel = "<dir>",
            description = "Directory with tokenizer.json and vocab.txt (default: --model's, else the shipped model's).")
    private Path tokenizer;

    @Option(names = "--data", defaultValue = "data/spamassassin",
            description = "Corpus directory (`streamformer data fetch`) (default: ${DEFAULT-VALUE}).")
    private Path data;

    @Option(names = "--split", defaultValue = "random",
            description = "random or later: whose training part's text to read (default: ${DEFAULT-VALUE}).")
    private String split;

    @Option(names = "--out", required = true, paramLabel = "<dir>", description = "Model directory to write.")
    private Path out;

    @Option(names = "--epochs", defaultValue = "10", description = "Passes over the texts (default: ${DEFAULT-VALUE}).")
    private int epochs;

    @Option(names = "--batch-size", defaultValue = "16", description = "Texts per step (default: ${DEFAULT-VALUE}).")
    private int batchSize;

    @Option(names = "--lr", defaultValue = "5e-4", description = "Peak learning rate (default: ${DEFAULT-VALUE}).")
    private double learningRate;

    @Option(names = "--warmup", defaultValue = "0.06",
            description = "Share of the steps spent warming up, then linear decay to 0 (default: ${DEFAULT-VALUE}).")
    private double warmup;

    @Option(names = "--weight-decay", defaultValue = "0.01", description = "AdamW weight decay (default: ${DEFAULT-VALUE}).")
    private double weightDecay;

    @Option(names = "--mask-rate", defaultValue = "0.15",
            description = "Share of the ordinary tokens of each text chosen for prediction; of those 80 %% become"
                    + " [MASK], 10 %% a random token, 10 %% stay (default: ${DEFAULT-VALUE}).")
    private double maskRate;

    @Option(names = "--seed", defaultValue = "42", description = "Initialisation, masking and shuffling seed (default: ${DEFAULT-VALUE}).")
    private long seed;

    @Option(names = "--max-length", defaultValue = "128",
            description = "Tokens per e-mail; written to the model's tokenizer.json as the length it reads texts at"
                    + " (default: ${DEFAULT-VALUE}).")
    private int maxLength;

    @Option(names = "--windows", defaultValue = "1",
            description = "Windows of --max-length tokens read from each e-mail: 1 reads its start, as fine-tuning"
                    + " and serving do; k reads up to k consecutive windows (each its own text with [CLS] and [SEP]),"
                    + " so pre-training sees more of long e-mails and an epoch takes longer (default: ${DEFAULT-VALUE}).")
    private int windows;

    @Option(names = "--threads", defaultValue = "2", description = "Intra-op threads (default: ${DEFAULT-VALUE}).")
    private int threads;

    @Override
    public Integer call() throws Exception {
        if (!(maskRate > 0 && maskRate < 1)) {
            throw new IllegalArgumentException("--mask-rate must be between 0 and 1, got " + maskRate);
        }
        if (windows < 1) {
            throw new IllegalArgumentException("--windows must be at least 1, got " + windows);
        }
        if (model != null && config != null) {
            throw new IllegalArgumentException("give --config (a new model) or --model (continue one), not both");
        }
        final long start = System.nanoTime();
        final Path tokenizerDir = tokenizer != null ? tokenizer : model != null ? model : DefaultModel.directory();
        final Checkpoint initial = model != null ? Checkpoint.load(model).dequantized()
                : Checkpoint.random(ModelConfig.read(config != null ? config : DefaultModel.directory()), seed);
        System.out.printf("pretrain: %s%n", ParameterStats.of(initial).plan());
        final Datasets.Tokenized parts = Datasets.load(data, split, tokenizerDir, (maxLength - 2) * windows + 2);
        final List<int[]> texts = parts.train().stream()
                .flatMap(e -> MaskedLanguageModel.windows(e.tokenIds(), maxLength, windows).stream()).toList();
        System.out.printf("split %s: %d windows of at most %d tokens from %d training texts, mask rate %.2f%n", split,
                texts.size(), maxLength, parts.train().size(), maskRate);
        final MaskedLanguageModel.Settings settings = new MaskedLanguageModel.Settings(epochs, batchSize, learningRate,
                warmup, weightDecay, seed, threads, maskRate);
        final Checkpoint trained = MaskedLanguageModel.pretrain(initial, texts, settings, System.out,
                (epoch, weights) -> weights.save(out.resolve("checkpoints").resolve("epoch-" + epoch)));
        ModelDirectory.save(trained, tokenizerDir, out);
        TokenizerFiles.writeInputLength(out, maxLength);
        final Map<String, Object> record = new LinkedHashMap<>();
        record.put("command", "pretrain");
        record.put("split", split);
        record.put("settings", settings);
        record.put("max_length", maxLength);
        record.put("windows", windows);
        record.put("texts", texts.size());
        record.put("seconds", (System.nanoTime() - start) / 1e9);
        TrainingRun.write(out.resolve("pretraining.json"), record);
        System.out.printf("wrote %s (version %s) in %.0f s; fine-tune it with `streamformer model finetune --model %s"
                + " --split %s --out <dir>`%n", out, ModelDirectory.version(out), (System.nanoTime() - start) / 1e9,
                out, split);
        return 0;
    }
}
