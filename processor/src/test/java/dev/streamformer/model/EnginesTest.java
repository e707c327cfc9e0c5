package dev.streamformer.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** Engines are plug-ins: the library carries ONNX Runtime, and names the artifact of any other. */
class EnginesTest {

    @Test
    void onnxRuntimeIsFoundThroughServiceLoader() {
        assertThat(Engines.available(InferenceEngine.ONNXRUNTIME)).isTrue();
        assertThat(Engines.get(InferenceEngine.ONNXRUNTIME)).isInstanceOf(dev.streamformer.engine.onnx.OnnxEngine.class);
    }

    @Test
    void thePyTorchEngineIsNotInTheLibraryAndItsAbsenceNamesTheArtifactToAdd() {
        assertThat(Engines.available(InferenceEngine.PYTORCH)).as("the library's class path has no PyTorch").isFalse();
        assertThatThrownBy(() -> new InferenceModel("m", "v", TestModels.randomized(TestModels.small(SharingPlan.ALL), 1),
                EngineSettings.of(InferenceEngine.PYTORCH, 1)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("The pytorch engine is not on the class path")
                .hasMessageContaining("dev.streamformer:streamformer-engine-pytorch")
                .hasMessageContaining("--engine onnxruntime");
    }
}
