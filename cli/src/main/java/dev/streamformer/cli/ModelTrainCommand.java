package dev.streamformer.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;

import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.DefaultModel;
import dev.streamformer.model.ModelConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code streamformer model train}. */
@Command(name = "train",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {"Train a model from a seeded random initialisation on the SpamAssassin corpus.",
            "Writes config.json, model.safetensors, the tokenizer files, training.json (settings and validation metrics"
                + " per epoch) and checkpoints/epoch-N. Prints progress with loss, throughput and ETA."})
final class ModelTrainCommand implements Callable<Integer> {

    /** Tokens per e-mail without --max-length. */
    static final int DEFAULT_LENGTH = 128;

    @Option(names = "--config", paramLabel = "<config.json>",
            description = "Architecture and sharing plan (default: the shipped model's config).")
    private Path config;

    @Option(names = "--tokenizer", paramLabel = "<dir>",
            description = "Directory with tokenizer.json and vocab.txt (default: the shipped model's).")
    private Path tokenizer;

    @Mixin
    private TrainOptions options;

    @Override
    public Integer call() throws Exception {
        final Path tokenizerDir = tokenizer != null ? tokenizer : DefaultModel.directory();
        final ModelConfig architecture = ModelConfig.read(config != null ? config : DefaultModel.directory());
        return TrainingRun.run("train", Checkpoint.random(architecture, options.seed), tokenizerDir, options,
                DEFAULT_LENGTH);
    }
}
