package dev.streamformer.cli;

import dev.streamformer.model.InferenceEngine;
import picocli.CommandLine.ITypeConverter;

/** Converts {@code --engine onnxruntime|pytorch}; a wrong name fails with the choices. */
final class EngineOption implements ITypeConverter<InferenceEngine> {

    @Override
    public InferenceEngine convert(final String value) {
        return InferenceEngine.parse(value);
    }
}
