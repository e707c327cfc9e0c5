package dev.streamformer.bench.stream;

import dev.streamformer.model.EngineSettings;
import dev.streamformer.stream.ModelRegistry;

/**
 * A registry that loads a fresh copy of the model for every lease, so every stream task holds its
 * own weights: the usual design of Kafka Streams machine-learning examples, the baseline the stream
 * benchmarks measure sharing against.
 */
final class CopyingRegistry extends ModelRegistry {

    @Override
    protected String shareKey(final String modelDir, final EngineSettings engine, final int loadsSoFar) {
        return super.shareKey(modelDir, engine, loadsSoFar) + "#" + loadsSoFar;
    }
}
