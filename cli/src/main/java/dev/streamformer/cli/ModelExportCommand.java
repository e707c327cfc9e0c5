package dev.streamformer.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.TreeMap;
import java.util.concurrent.Callable;

import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.ModelDirectory;
import dev.streamformer.engine.onnx.internals.EncoderGraph;
import dev.streamformer.engine.onnx.internals.OnnxForward;
import dev.streamformer.engine.onnx.internals.OnnxModelFile;
import dev.streamformer.engine.onnx.internals.SessionSettings;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code streamformer model export}. */
@Command(name = "export",
        mixinStandardHelpOptions = true,
        description = {"Write a model directory's encoder as an ONNX file for other runtimes.",
            "The output directory holds model.onnx (inputs input_ids, attention_mask, token_type_ids: int64 [batch,"
                + " sequence]; output logits [batch, labels]: the Hugging Face export convention; every shared tensor"
                + " one initializer), config.json and the tokenizer files. The processor serves such a directory as it"
                + " is (--model <out>); so does any ONNX runtime."})
final class ModelExportCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, paramLabel = "<dir>",
            description = "Model directory (config.json + model.safetensors).")
    private Path model;

    @Option(names = "--out", required = true, paramLabel = "<dir>", description = "Output directory.")
    private Path out;

    @Option(names = "--format", defaultValue = "onnx", paramLabel = "<format>",
            description = "Output format; onnx is the only one (default: ${DEFAULT-VALUE}).")
    private String format;

    @Option(names = "--show-fusions",
            description = "Also load the graph in ONNX Runtime and print its operators before and after ONNX Runtime's"
                    + " optimizer (what it fused); the optimized graph is written to model.optimized.onnx beside it.")
    private boolean showFusions;

    @Override
    public Integer call() throws Exception {
        if (!"onnx".equals(format)) {
            throw new IllegalArgumentException("--format " + format + " is not supported; use --format onnx");
        }
        final Checkpoint checkpoint = Checkpoint.load(model);
        Files.createDirectories(out);
        final Path file = out.resolve(ModelDirectory.ONNX);
        Files.write(file, EncoderGraph.build(checkpoint, model.toAbsolutePath().normalize().getFileName().toString())
                .toByteArray());
        ModelDirectory.copy(model, out, ModelDirectory.COMPANIONS);
        final OnnxModelFile written = OnnxModelFile.read(file);
        System.out.printf("wrote %s (%.2f MB, %d initializers, %d used by more than one node; version %s)%n", file,
                Files.size(file) / 1e6, written.initializers().size(),
                written.initializers().stream().filter(i -> i.users() > 1 && i.isWeight()).count(),
                ModelDirectory.version(out));
        if (showFusions) {
            final Path optimized = out.resolve("model.optimized.onnx");
            try (OnnxForward session = OnnxForward.fromFile(file, checkpoint.config().numLabels(),
                    new SessionSettings(1, true, optimized))) {
                System.out.printf("operators as written:         %s%n", new TreeMap<>(written.opCounts()));
                System.out.printf("after ONNX Runtime optimized: %s%n",
                        new TreeMap<>(OnnxModelFile.read(optimized).opCounts()));
            }
        }
        return 0;
    }
}
