package dev.streamformer.engine.onnx;

import java.io.IOException;
import java.nio.file.Path;

import dev.streamformer.engine.onnx.internals.EncoderGraph;
import dev.streamformer.engine.onnx.internals.Int8Products;
import dev.streamformer.engine.onnx.internals.LayeredForward;
import dev.streamformer.engine.onnx.internals.OnnxForward;
import dev.streamformer.engine.onnx.internals.OnnxModelFile;
import dev.streamformer.engine.onnx.internals.SessionSettings;
import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.EngineProvider;
import dev.streamformer.model.EngineSettings;
import dev.streamformer.model.ExitHeads;
import dev.streamformer.model.ForwardPass;
import dev.streamformer.model.InferenceEngine;
import dev.streamformer.model.ModelConfig;

/**
 * ONNX Runtime, the serving engine: a checkpoint runs as the encoder graph built from it (each shared
 * tensor one initializer, int8 weights as int8 products), an exported {@code model.onnx} as it is.
 */
public final class OnnxEngine implements EngineProvider {

    @Override
    public InferenceEngine engine() {
        return InferenceEngine.ONNXRUNTIME;
    }

    @Override
    public ForwardPass forward(final Checkpoint checkpoint, final String name, final EngineSettings settings) {
        if (checkpoint.config().exits() != ExitHeads.NONE) {
            // A model with exit heads runs layer by layer, so that its records can leave early.
            return LayeredForward.of(Int8Products.servable(checkpoint), name,
                    SessionSettings.of(settings.intraOpThreads(), settings.prepacking()));
        }
        return OnnxForward.fromBytes(EncoderGraph.build(Int8Products.servable(checkpoint), name).toByteArray(),
                checkpoint.config().numLabels(), SessionSettings.of(settings.intraOpThreads(), settings.prepacking()));
    }

    @Override
    public Exported exported(final Path file, final ModelConfig config, final EngineSettings settings)
            throws IOException {
        final OnnxModelFile graph = OnnxModelFile.read(file);
        Int8Products.warnIfSaturating(file, graph.opCounts());
        return new Exported(OnnxForward.fromFile(file, config.numLabels(),
                SessionSettings.of(settings.intraOpThreads(), settings.prepacking())), graph.stats());
    }
}
