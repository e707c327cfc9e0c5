package dev.streamformer.engine.pytorch;

import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.EngineProvider;
import dev.streamformer.model.EngineSettings;
import dev.streamformer.model.ForwardPass;
import dev.streamformer.model.InferenceEngine;

/** DJL on PyTorch as an engine of {@link dev.streamformer.model.InferenceModel}: the {@link SharedEncoder}. */
public final class PyTorchEngine implements EngineProvider {

    @Override
    public InferenceEngine engine() {
        return InferenceEngine.PYTORCH;
    }

    @Override
    public ForwardPass forward(final Checkpoint checkpoint, final String name, final EngineSettings settings) {
        return new PyTorchForward(checkpoint, settings.intraOpThreads());
    }
}
