package dev.streamformer.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

import dev.streamformer.model.DefaultModel;
import dev.streamformer.model.InferenceEngine;

/**
 * The model suite measures each engine, not its neighbours: at one caller x 2 intra-op threads and
 * batch 1 (where a 10-25 ms call lost half its cores to the spinning workers of the action before
 * it), its figure stays near a plain loop of calls over the same model, timed in alternation. Loose
 * bounds: the figures themselves come from {@code streamformer bench model}.
 */
class ModelBenchmarkTest {

    @Test
    void theSuitesBatchOneFigureIsThatOfAPlainLoopOverTheSameModel() throws Exception {
        final ModelBenchmark.Result r = ModelBenchmark.run(List.of(
                ModelBenchmark.Variant.of(DefaultModel.directory(), InferenceEngine.ONNXRUNTIME),
                ModelBenchmark.Variant.of(DefaultModel.directory(), InferenceEngine.PYTORCH)),
                List.of(new ModelBenchmark.Layout(1, 2)), List.of(1), 128, 5);
        System.out.print(r.toTable());
        assertThat(r.loopChecks()).extracting(ModelBenchmark.LoopCheck::engine)
                .containsExactly(InferenceEngine.ONNXRUNTIME.configName(), InferenceEngine.PYTORCH.configName());
        final ModelBenchmark.LoopCheck onnx = r.loopChecks().get(0);
        assertThat(onnx.ratio()).as("suite / plain loop, onnxruntime 1x2 batch 1 (it was 0.5 before the quiet pause)")
                .isBetween(0.7, 1.5);
        assertThat(r.toTable()).contains("check 1x2 onnxruntime batch 1: suite ");
    }
}
