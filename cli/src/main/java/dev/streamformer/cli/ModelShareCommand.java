package dev.streamformer.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;

import dev.streamformer.compress.Share;
import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.SharingPlan;
import dev.streamformer.model.SharingStrategy;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code streamformer model share}. */
@Command(name = "share",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {"Convert a model to another sharing plan: each new parameter set is the average of the sets"
                + " its layers used; --kv-heads merges key/value heads by averaging each group.",
            "Then recover accuracy with `model finetune` (optionally --teacher <the unshared model>)."})
final class ModelShareCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, paramLabel = "<dir>", description = "The model to convert (usually plan none).")
    private Path model;

    @Option(names = "--attention", defaultValue = "all",
            description = "Attention sharing: none, all, sequence, cycle, cycle-reverse (default: ${DEFAULT-VALUE}).")
    private String attention;

    @Option(names = "--ffn", defaultValue = "all",
            description = "Feed-forward sharing: none, all, sequence, cycle, cycle-reverse (default: ${DEFAULT-VALUE}).")
    private String ffn;

    @Option(names = "--groups", defaultValue = "1",
            description = "M, the parameter sets of sequence, cycle and cycle-reverse (default: ${DEFAULT-VALUE}).")
    private int groups;

    @Option(names = "--kv-heads", paramLabel = "<G>", description = "Key/value heads per layer (default: unchanged).")
    private Integer kvHeads;

    @Option(names = "--out", required = true, paramLabel = "<dir>", description = "Directory to write.")
    private Path out;

    @Override
    public Integer call() throws Exception {
        final Checkpoint source = Checkpoint.load(model).dequantized();
        final SharingPlan plan = new SharingPlan(SharingStrategy.parse(attention), groups, SharingStrategy.parse(ffn),
                groups);
        final Checkpoint shared = Share.convert(source, plan,
                kvHeads != null ? kvHeads : source.config().numKeyValueHeads());
        return CompressionRun.write("share", model, source, shared, out);
    }
}
