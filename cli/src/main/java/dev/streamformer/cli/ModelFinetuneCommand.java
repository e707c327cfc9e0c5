package dev.streamformer.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;

import dev.streamformer.model.Checkpoint;
import dev.streamformer.text.TextTokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code streamformer model finetune}. */
@Command(name = "finetune",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {"Continue training an existing model (after share, prune or quantize) to recover accuracy,"
                + " optionally distilling from a teacher's probabilities (--teacher, for example the unshared model).",
            "An int8 model is dequantized and trained in fp32; quantize again afterwards."})
final class ModelFinetuneCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, paramLabel = "<dir>", description = "The model to start from.")
    private Path model;

    @Mixin
    private TrainOptions options;

    @Override
    public Integer call() throws Exception {
        return TrainingRun.run("finetune", Checkpoint.load(model).dequantized(), model, options,
                TextTokenizer.inputLength(model));
    }
}
