package dev.streamformer.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.ModelDirectory;
import dev.streamformer.train.WeightAverage;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code streamformer model average}. */
@Command(name = "average",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {"Average the weights of checkpoints of one training run (or fine-tunes of one model) into a"
                + " new model: the element-wise mean of every tensor, in fp32.",
            "For example the last two epochs of a run: streamformer model average --tokenizer m --out m-avg"
                + " m/checkpoints/epoch-2 m/checkpoints/epoch-3. Models trained from different seeds do not average."})
final class ModelAverageCommand implements Callable<Integer> {

    @Parameters(arity = "2..*", paramLabel = "<dir>", description = "Model or checkpoint directories of one config.json.")
    private List<Path> models = new ArrayList<>();

    @Option(names = "--tokenizer", paramLabel = "<dir>",
            description = "Directory whose tokenizer.json, vocab.txt and training.json to copy (default: the first"
                    + " <dir> that has a tokenizer.json).")
    private Path tokenizer;

    @Option(names = "--out", required = true, paramLabel = "<dir>", description = "Directory to write.")
    private Path out;

    @Override
    public Integer call() throws Exception {
        final Path from = tokenizer != null ? tokenizer : models.stream()
                .filter(d -> Files.isRegularFile(d.resolve(ModelDirectory.TOKENIZER))).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("none of the directories has a "
                        + ModelDirectory.TOKENIZER + " (checkpoints/epoch-N have none): give --tokenizer <model dir>"));
        final List<Checkpoint> checkpoints = new ArrayList<>();
        for (final Path dir : models) {
            checkpoints.add(Checkpoint.load(dir));
        }
        ModelDirectory.save(WeightAverage.of(checkpoints), from, out);
        // The training shares that `model prior` reads, when the run recorded them.
        ModelDirectory.copy(from, out, List.of("training.json"));
        System.out.printf("wrote %s (version %s): the mean of %d checkpoints%n", out, ModelDirectory.version(out),
                checkpoints.size());
        return 0;
    }
}
