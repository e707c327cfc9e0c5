package dev.streamformer.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;

import dev.streamformer.compress.Quantize;
import dev.streamformer.model.Checkpoint;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code streamformer model quantize}. */
@Command(name = "quantize",
        mixinStandardHelpOptions = true,
        description = {"Store the weight matrices as int8 with one fp32 scale per output channel (I8 tensor X plus"
                + " F32 X_scale in model.safetensors); biases and LayerNorm stay fp32.",
            "On onnxruntime the matrix products run in int8 (DynamicQuantizeMatMul); on pytorch the weights are"
                    + " dequantized at load and computed in fp32."})
final class ModelQuantizeCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, paramLabel = "<dir>", description = "The model to quantize.")
    private Path model;

    @Option(names = "--out", required = true, paramLabel = "<dir>", description = "Directory to write.")
    private Path out;

    @Override
    public Integer call() throws Exception {
        final Checkpoint source = Checkpoint.load(model).dequantized();
        return CompressionRun.write("quantize", model, source, Quantize.int8(source), out);
    }
}
