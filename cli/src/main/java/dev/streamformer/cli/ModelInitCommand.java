package dev.streamformer.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.InferenceModel;
import dev.streamformer.model.ModelConfig;
import dev.streamformer.model.ModelDirectory;
import dev.streamformer.model.ParameterStats;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code streamformer model init}. */
@Command(name = "init",
        mixinStandardHelpOptions = true,
        description = "Write a randomly initialised model directory (BERT-style truncated normal, std 0.02;"
                + " biases 0; LayerNorm gains 1). The same config and seed always give the same weights.")
final class ModelInitCommand implements Callable<Integer> {

    @Option(names = "--config", required = true, paramLabel = "<config.json>",
            description = "Architecture in the Hugging Face ALBERT format (with the optional \"streamformer\" block).")
    private Path config;

    @Option(names = "--seed", defaultValue = "42", description = "Random seed (default: ${DEFAULT-VALUE}).")
    private long seed;

    @Option(names = "--out", required = true, paramLabel = "<dir>", description = "Directory to write.")
    private Path out;

    @Option(names = "--force", description = "Overwrite an existing model in --out.")
    private boolean force;

    @Override
    public Integer call() throws Exception {
        if (Files.exists(out.resolve(ModelDirectory.WEIGHTS)) && !force) {
            throw new IllegalArgumentException(out + " already holds a model; pass --force to overwrite it");
        }
        final Checkpoint checkpoint = Checkpoint.random(ModelConfig.read(config), seed);
        checkpoint.save(out);
        System.out.printf("wrote %s (version %s)%n%n", out, ModelDirectory.version(out));
        System.out.print(ParameterStats.of(checkpoint).toTable());
        return 0;
    }
}
