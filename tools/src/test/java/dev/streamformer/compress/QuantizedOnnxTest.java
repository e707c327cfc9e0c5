package dev.streamformer.compress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;

import org.junit.jupiter.api.Test;

import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.EncoderInput;
import dev.streamformer.model.EngineSettings;
import dev.streamformer.model.InferenceEngine;
import dev.streamformer.model.InferenceModel;
import dev.streamformer.model.ModelConfig;
import dev.streamformer.model.ModelOutput;
import dev.streamformer.model.SharingPlan;
import dev.streamformer.model.TestModels;
import dev.streamformer.engine.onnx.internals.EncoderGraph;
import dev.streamformer.engine.onnx.internals.OnnxModelFile;
import dev.streamformer.engine.onnx.internals.proto.Onnx.ModelProto;

/** A quantized checkpoint on ONNX Runtime: int8 matrix products, logits within the bound of the scales. */
class QuantizedOnnxTest {

    @Test
    void int8WeightsRunAsInt8MatrixProductsWithinTheBoundOfTheirScales() {
        final ModelConfig config = TestModels.small(SharingPlan.ALL);
        final Checkpoint fp32 = Checkpoint.random(config, 21);
        final Checkpoint int8 = Quantize.int8(fp32);
        final ModelProto graph = EncoderGraph.build(int8, "q");
        final OnnxModelFile file = OnnxModelFile.of(graph);
        assertThat(file.opCounts()).containsKey("com.microsoft.DynamicQuantizeMatMul");
        assertThat(file.opCounts().get("MatMul")).as("fp32 MatMuls left: the attention products only")
                .isEqualTo(2 * config.numLayers());
        assertThat(file.initializers().stream().filter(i -> i.dtype().equals("INT8")).count())
                .as("int8 initializers").isGreaterThan(5);
        assertInt8AgreesWithItsDequantizedWeights(int8);
    }

    @Test
    void aRelaxedModelQuantizesItsDeltasToInt8ProductsToo() {
        final ModelConfig none = TestModels.small(SharingPlan.NONE);
        final Checkpoint relaxed = Share.convert(Checkpoint.random(none, 22), SharingPlan.ALL, 4, 4);
        final Checkpoint int8 = Quantize.int8(relaxed);
        final OnnxModelFile file = OnnxModelFile.of(EncoderGraph.build(int8, "q"));
        // Per layer: 6 shared products, 12 delta products (A then B on each matrix); the rest: projection,
        // pooler, classifier.
        assertThat(file.opCounts().get("com.microsoft.DynamicQuantizeMatMul")).isEqualTo(18 * none.numLayers() + 3);
        assertInt8AgreesWithItsDequantizedWeights(int8);
    }

    /**
     * ONNX Runtime's int8 products against the PyTorch engine on the same weights dequantized: the weights
     * are exact in both; the int8 path also rounds each activation to 8 bits (scale = range / 255), which
     * moves these small logits by well under 0.05 and never flips a prediction.
     */
    private static void assertInt8AgreesWithItsDequantizedWeights(final Checkpoint int8) {
        final List<EncoderInput> batch = TestModels.paddedBatch();
        try (InferenceModel q = new InferenceModel("q", "v", int8);
                InferenceModel dequantized = new InferenceModel("d", "v", int8.dequantized(),
                        EngineSettings.of(InferenceEngine.PYTORCH, 1))) {
            final List<ModelOutput> a = q.predict(batch);
            final List<ModelOutput> b = dequantized.predict(batch);
            for (int i = 0; i < batch.size(); i++) {
                assertThat(a.get(i).logits()).as("sequence %d", i).containsExactly(b.get(i).logits(), within(0.05f));
                assertThat(a.get(i).argmax()).as("sequence %d", i).isEqualTo(b.get(i).argmax());
            }
        }
    }
}
