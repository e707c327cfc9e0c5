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
            "--relax-rank r makes the sharing relaxed: every layer of a shared set keeps a rank-r delta B A on each"
                + " weight matrix (the truncated SVD of its own weight minus the average) and the difference of each"
                + " bias and LayerNorm vector, stored under albert.encoder.layer_deltas.<layer>.*. At full rank"
                + " (r >= the smaller side of every matrix) the model computes what the source computed.",
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

    @Option(names = "--relax-rank", defaultValue = "0", paramLabel = "<r>",
            description = "Rank of the per-layer deltas of relaxed sharing; 0 = plain sharing; capped per matrix at"
                    + " min(rows, columns) (default: ${DEFAULT-VALUE}).")
    private int relaxRank;

    @Option(names = "--out", required = true, paramLabel = "<dir>", description = "Directory to write.")
    private Path out;

    @Override
    public Integer call() throws Exception {
        final Checkpoint source = Checkpoint.load(model).dequantized();
        final SharingPlan plan = new SharingPlan(SharingStrategy.parse(attention), groups, SharingStrategy.parse(ffn),
                groups);
        if (relaxRank < 0) {
            throw new IllegalArgumentException("--relax-rank must be 0 (plain sharing) or positive, got " + relaxRank);
        }
        final Checkpoint shared = Share.convert(source, plan,
                kvHeads != null ? kvHeads : source.config().numKeyValueHeads(), relaxRank);
        return CompressionRun.write("share", model, source, shared, out);
    }
}
