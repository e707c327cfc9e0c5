package dev.streamformer.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;

import dev.streamformer.compress.Prune;
import dev.streamformer.model.Checkpoint;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code streamformer model prune}. */
@Command(name = "prune",
        mixinStandardHelpOptions = true,
        description = {"Structured pruning: keep the most important attention heads and feed-forward neurons of every"
                + " parameter set (importance = norm of the weights into a unit x norm of the weights out of it) and"
                + " shrink the tensors, so the model computes less.",
            "Then recover accuracy with `model finetune`."})
final class ModelPruneCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, paramLabel = "<dir>", description = "The model to prune.")
    private Path model;

    @Option(names = "--heads", paramLabel = "<n>", description = "Attention heads to keep per set (default: all).")
    private Integer heads;

    @Option(names = "--ffn-neurons", paramLabel = "<n>", description = "Feed-forward neurons to keep per set (default: all).")
    private Integer neurons;

    @Option(names = "--out", required = true, paramLabel = "<dir>", description = "Directory to write.")
    private Path out;

    @Override
    public Integer call() throws Exception {
        final Checkpoint source = Checkpoint.load(model).dequantized();
        final Checkpoint pruned = Prune.prune(source, heads != null ? heads : source.config().numHeads(),
                neurons != null ? neurons : source.config().intermediateSize());
        return CompressionRun.write("prune", model, source, pruned, out);
    }
}
