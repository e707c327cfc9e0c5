package dev.streamformer.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

import dev.streamformer.corpus.Corpus;
import dev.streamformer.train.ModelTrainer;
import dev.streamformer.train.TradeoffTable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code streamformer model tradeoff}. */
@Command(name = "tradeoff",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {"Regenerate the trade-off table: not shared, all shared (scratch, and converted + fine-tuned),"
                + " relaxed with rank 4 and 16 deltas (converted + fine-tuned), attention only, feed-forward only, 3 groups as sequence and cycle, all shared with 1 key/value head,"
                + " all shared + pruned, all shared + int8; same dimensions, data, seed and budget for every row, on"
                + " both splits. Each row's model then gets --finetune-epochs more with an exit after every layer"
                + " (shared heads for all-shared plans, one per layer otherwise), an exit policy chosen on each split's"
                + " validation part (at most 0.1 points lost), its accuracy and mean layers on the test part, and its"
                + " records/s at full depth and at the policy on the bundled mail.",
            "Writes TRADEOFF.md, tradeoff.json, tradeoff.png and tradeoff-exits.png into --out. Takes about an hour"
                + " and a half at the defaults on two idle cores. Every model is kept in --work with the setup it was"
                + " trained with: run the same command again after an interruption and it goes on where it stopped."})
final class ModelTradeoffCommand implements Callable<Integer> {

    @Option(names = "--data", defaultValue = "data/spamassassin", description = "Corpus directory (default: ${DEFAULT-VALUE}).")
    private Path data;

    @Option(names = "--work", defaultValue = "data/tradeoff", description = "Where the models go (default: ${DEFAULT-VALUE}).")
    private Path work;

    @Option(names = "--out", defaultValue = "docs", description = "Where the table goes (default: ${DEFAULT-VALUE}).")
    private Path out;

    @Option(names = "--embedding", defaultValue = "64", description = "E (default: ${DEFAULT-VALUE}).")
    private int embedding;

    @Option(names = "--hidden", defaultValue = "128", description = "H (default: ${DEFAULT-VALUE}).")
    private int hidden;

    @Option(names = "--layers", defaultValue = "6", description = "L (default: ${DEFAULT-VALUE}).")
    private int layers;

    @Option(names = "--heads", defaultValue = "4", description = "A (default: ${DEFAULT-VALUE}).")
    private int heads;

    @Option(names = "--intermediate", defaultValue = "512", description = "F (default: ${DEFAULT-VALUE}).")
    private int intermediate;

    @Option(names = "--vocab-size", defaultValue = "8000", description = "Vocabulary (default: ${DEFAULT-VALUE}).")
    private int vocab;

    @Option(names = "--max-length", defaultValue = "128", description = "Tokens per e-mail (default: ${DEFAULT-VALUE}).")
    private int maxLength;

    @Option(names = "--epochs", defaultValue = "3", description = "Training epochs per row (default: ${DEFAULT-VALUE}).")
    private int epochs;

    @Option(names = "--finetune-epochs", defaultValue = "1",
            description = "Recovery epochs after share and prune (default: ${DEFAULT-VALUE}).")
    private int finetuneEpochs;

    @Option(names = "--batch-size", defaultValue = "16", description = "Batch (default: ${DEFAULT-VALUE}).")
    private int batchSize;

    @Option(names = "--lr", defaultValue = "3e-4", description = "Peak learning rate (default: ${DEFAULT-VALUE}).")
    private double lr;

    @Option(names = "--seed", defaultValue = "42", description = "Seed of every row (default: ${DEFAULT-VALUE}).")
    private long seed;

    @Option(names = "--add-baseline",
            description = "Only add (or replace) the classic TF-IDF + logistic regression row (`model baseline`, under a"
                    + " minute), keeping every other row.")
    private boolean addBaseline;

    @Option(names = "--add-relaxed",
            description = "Only add (or replace) the relaxed rows (rank 4 and 16): trains the not-shared row again with"
                    + " the table's setup on both splits, relaxes it (`model share --relax-rank`) and fine-tunes"
                    + " (about 20 minutes), with exits as every row, keeping every other row.")
    private boolean addRelaxed;

    @Option(names = "--remeasure",
            description = "Only measure the records/s and RSS columns again (a few minutes): every row's architecture"
                    + " with seeded random weights runs as fast as the trained one; accuracy and sizes are kept from"
                    + " <out>/tradeoff.json. Needs no corpus.")
    private boolean remeasure;

    @Option(names = "--redraw",
            description = "Only write the tables and charts of <out>/TRADEOFF.md again from <out>/tradeoff.json (a"
                    + " second), keeping the note under the tables and every section written by hand.")
    private boolean redraw;

    @Override
    public Integer call() throws Exception {
        if (redraw) {
            TradeoffTable.redraw(out);
            System.out.println("wrote " + out.resolve("TRADEOFF.md"));
            return 0;
        }
        if (addBaseline) {
            TradeoffTable.addBaseline(out, data, System.out);
            System.out.println("wrote " + out.resolve("TRADEOFF.md"));
            return 0;
        }
        if (addRelaxed) {
            TradeoffTable.addRelaxed(out, data, work, System.out);
            System.out.println("wrote " + out.resolve("TRADEOFF.md"));
            return 0;
        }
        if (remeasure) {
            TradeoffTable.remeasure(out, java.nio.file.Files.createTempDirectory("streamformer-tradeoff-"), System.out);
            System.out.printf("wrote %s%n", out.resolve("TRADEOFF.md"));
            return 0;
        }
        final long start = System.nanoTime();
        final TradeoffTable.Setup setup = new TradeoffTable.Setup(embedding, hidden, layers, heads, intermediate, vocab,
                maxLength, new ModelTrainer.Settings(epochs, batchSize, lr, 0.1, 0.01, seed, 2, 0, 1), finetuneEpochs);
        final int before = TradeoffTable.savedModels(work, setup);
        final List<TradeoffTable.Row> rows = TradeoffTable.build(data, work, setup, System.out);
        final String command = "java -jar cli/target/streamformer.jar model tradeoff --data " + data + " --epochs "
                + epochs + " --finetune-epochs " + finetuneEpochs + " --lr " + lr;
        final String note = before == 0 ? null : String.format("%d of the models were taken from %s as an earlier,"
                + " interrupted run of the same command had left them: the minutes above count this run only.", before,
                work);
        TradeoffTable.write(rows, setup, (System.nanoTime() - start) / 1e9, command, out, note);
        System.out.printf("wrote %s%n", out.resolve("TRADEOFF.md"));
        return 0;
    }
}
