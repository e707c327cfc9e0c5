package dev.streamformer.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.ModelConfig;
import dev.streamformer.model.ModelDirectory;
import dev.streamformer.model.ParameterStats;
import dev.streamformer.engine.onnx.internals.OnnxModelFile;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code streamformer model stats}. */
@Command(name = "stats",
        mixinStandardHelpOptions = true,
        description = {"Print parameter statistics: logical and unique parameters, sharing ratio, bytes by dtype"
                + " and a breakdown by component.",
            "A config.json alone is enough (F32 storage is assumed); with a model directory the stored dtypes count.",
            "For a directory with model.onnx the figures come from the ONNX initializers: logical parameters count an"
                + " initializer once per node that uses it, and the breakdown lists those used by more than one node."})
final class ModelStatsCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "<dir or config.json>",
            description = "A model directory or a config.json file.")
    private Path path;

    @Option(names = "--json", description = "Print JSON instead of a table.")
    private boolean json;

    @Override
    public Integer call() throws Exception {
        final boolean isDir = Files.isDirectory(path);
        final ParameterStats stats;
        if (isDir && Files.isRegularFile(path.resolve(ModelDirectory.ONNX))) {
            stats = OnnxModelFile.read(path.resolve(ModelDirectory.ONNX)).stats();
        } else if (isDir && Files.isRegularFile(path.resolve(ModelDirectory.WEIGHTS))) {
            stats = ParameterStats.of(Checkpoint.load(path));
        } else {
            stats = ParameterStats.of(ModelConfig.read(path));
        }
        System.out.print(json ? stats.toJson() + System.lineSeparator() : stats.toTable());
        if (!json && !(isDir && Files.isRegularFile(path.resolve(ModelDirectory.ONNX)))) {
            final ModelConfig config = ModelConfig.read(path);
            if (config.exits() != dev.streamformer.model.ExitHeads.NONE) {
                System.out.printf("%nexit heads         %s%s%n", config.exits().configName(),
                        config.exits() == dev.streamformer.model.ExitHeads.SHARED
                                ? " (the pooler and classifier above are read after every layer)"
                                : " (exit[k]: a pooler and classifier read after layer k)");
                if (isDir) {
                    System.out.printf("exit policy        %s%n", dev.streamformer.model.ExitPolicy.read(path));
                }
            }
        }
        return 0;
    }
}
