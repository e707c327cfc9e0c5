package dev.streamformer.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.streamformer.corpus.DemoSample;
import dev.streamformer.model.Activation;
import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.DefaultModel;
import dev.streamformer.model.InferenceModel;
import dev.streamformer.model.ModelConfig;
import dev.streamformer.model.ModelDirectory;
import dev.streamformer.model.SharingPlan;
import dev.streamformer.text.TextTokenizer;

class ModelTrainerTest {

    @TempDir
    Path dir;

    /** 96 labelled e-mails of the bundled sample, tokenized with the shipped tokenizer. */
    private static List<Example> tinySubset() throws Exception {
        final List<Example> out = new ArrayList<>();
        try (TextTokenizer tokenizer = TextTokenizer.load(DefaultModel.directory(), 64)) {
            for (final DemoSample.Item item : DemoSample.bundled().subList(0, 96)) {
                out.add(new Example(item.id(), tokenizer.encode(item.text()), item.label().equals("spam") ? 1 : 0));
            }
        }
        return out;
    }

    @Test
    void lossFallsWithinAFewStepsAndTheSavedModelLoadsAndPredicts() throws Exception {
        final ModelConfig config = new ModelConfig(8000, 32, 64, 2, 2, 2, 128, 64, 2, Activation.GELU_NEW, 1e-12,
                true, SharingPlan.ALL, List.of("ham", "spam"));
        final List<Example> examples = tinySubset();
        final ByteArrayOutputStream log = new ByteArrayOutputStream();
        final List<Float> epochLoss = new ArrayList<>();
        final ModelTrainer.Settings settings = new ModelTrainer.Settings(6, 16, 5e-3, 0.1, 0.01, 7, 2, 0, 1);
        final Checkpoint trained = ModelTrainer.train(Checkpoint.random(config, 1), examples, null, settings,
                new PrintStream(log, true, StandardCharsets.UTF_8), (epoch, model) -> {
                    try (InferenceModel m = new InferenceModel("m", "v", model)) {
                        epochLoss.add((float) meanLoss(m, examples));
                    }
                });
        assertThat(log.toString(StandardCharsets.UTF_8)).contains("epoch 1 step").contains("ETA").contains("ex/s");
        assertThat(epochLoss).hasSize(6);
        assertThat(epochLoss.get(5)).as("training loss after 6 epochs vs after 1: %s", epochLoss)
                .isLessThan(epochLoss.get(0) * 0.8f);

        ModelDirectory.save(trained, DefaultModel.directory(), dir);
        try (InferenceModel loaded = InferenceModel.load(dir)) {
            final Evaluation e = Evaluation.of(loaded, examples, 32);
            assertThat(e.examples()).isEqualTo(96);
            assertThat(e.accuracy()).as("fits its own training data").isGreaterThan(0.8);
        }
    }

    @Test
    void aRelaxedModelFineTunesItsDeltasAndItsSharedBase() throws Exception {
        final ModelConfig config = new ModelConfig(8000, 32, 64, 3, 2, 2, 128, 64, 2, Activation.GELU_NEW, 1e-12,
                true, SharingPlan.ALL, List.of("ham", "spam")).withRelaxRank(4);
        final Checkpoint start = Checkpoint.random(config, 2);
        final String up = dev.streamformer.model.ParameterLayout.deltaPrefix(1) + "ffn"
                + dev.streamformer.model.ParameterLayout.DELTA_B;
        final String shared = dev.streamformer.model.ParameterLayout.ffnPrefix(config, 0) + "ffn.weight";
        assertThat(start.floats(up)).as("B starts at zero (LoRA)").containsOnly(0f);
        final List<Example> examples = tinySubset();
        final ModelTrainer.Settings settings = new ModelTrainer.Settings(3, 16, 5e-3, 0.1, 0.0, 7, 2, 0, 1);
        final Checkpoint tuned = ModelTrainer.train(start, examples, null, settings,
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), (epoch, model) -> { });
        assertThat(tuned.config().relaxRank()).isEqualTo(4);
        assertThat(maxAbs(tuned.floats(up))).as("a delta learned").isGreaterThan(1e-4f);
        assertThat(maxAbsDifference(tuned.floats(shared), start.floats(shared))).as("the shared base learned")
                .isGreaterThan(1e-4f);
        try (InferenceModel before = new InferenceModel("m", "v", start);
                InferenceModel after = new InferenceModel("m", "v", tuned)) {
            assertThat(meanLoss(after, examples)).isLessThan(meanLoss(before, examples));
        }
    }

    @Test
    void trainingWithPerLayerExitsTeachesEveryExitFromTheModelsOwnHead() throws Exception {
        final ModelConfig config = new ModelConfig(8000, 32, 64, 3, 2, 2, 128, 64, 2, Activation.GELU_NEW, 1e-12,
                true, SharingPlan.ALL, List.of("ham", "spam"));
        final Checkpoint start = Checkpoint.random(config, 3).withExits(dev.streamformer.model.ExitHeads.PER_LAYER);
        assertThat(start.floats("streamformer.exits.0.classifier.weight")).as("an exit head starts as the model's own")
                .containsExactly(start.floats("classifier.weight"));
        final List<Example> examples = tinySubset();
        final ModelTrainer.Settings settings = new ModelTrainer.Settings(6, 16, 5e-3, 0.1, 0.01, 7, 2, 0, 1, false, 0,
                0.3);
        final Checkpoint trained = ModelTrainer.train(start, examples, null, settings,
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), (epoch, model) -> { });
        assertThat(trained.config().exits()).isEqualTo(dev.streamformer.model.ExitHeads.PER_LAYER);
        assertThat(trained.floats("streamformer.exits.0.classifier.weight")).as("the first exit learned a head of its own")
                .isNotEqualTo(trained.floats("classifier.weight"));
        final int[] correct = new int[config.numLayers()];
        try (dev.streamformer.engine.onnx.internals.LayeredForward layered =
                dev.streamformer.engine.onnx.internals.LayeredForward.of(trained, "m",
                        dev.streamformer.engine.onnx.internals.SessionSettings.of(1, true))) {
            for (int from = 0; from < examples.size(); from += 32) {
                final List<Example> part = examples.subList(from, Math.min(examples.size(), from + 32));
                final float[][] depths = layered.logitsAtEveryDepth(dev.streamformer.model.EncoderBatch.of(
                        trained.config(), part.stream().map(e -> dev.streamformer.model.EncoderInput.of(e.tokenIds()))
                                .toList()));
                for (int layer = 0; layer < depths.length; layer++) {
                    for (int i = 0; i < part.size(); i++) {
                        final int predicted = depths[layer][2 * i + 1] > depths[layer][2 * i] ? 1 : 0;
                        correct[layer] += predicted == part.get(i).label() ? 1 : 0;
                    }
                }
            }
        }
        for (int layer = 0; layer < config.numLayers(); layer++) {
            assertThat(correct[layer] / (double) examples.size()).as("exit after layer %d fits its training data: %s",
                    layer + 1, java.util.Arrays.toString(correct)).isGreaterThan(0.8);
        }
    }

    private static float maxAbs(final float[] v) {
        float m = 0;
        for (final float x : v) {
            m = Math.max(m, Math.abs(x));
        }
        return m;
    }

    private static float maxAbsDifference(final float[] a, final float[] b) {
        float m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }

    private static double meanLoss(final InferenceModel m, final List<Example> examples) {
        double sum = 0;
        for (int start = 0; start < examples.size(); start += 32) {
            final List<dev.streamformer.model.EncoderInput> inputs = new ArrayList<>();
            final List<Example> part = examples.subList(start, Math.min(examples.size(), start + 32));
            part.forEach(e -> inputs.add(dev.streamformer.model.EncoderInput.of(e.tokenIds())));
            final var outs = m.predict(inputs);
            for (int i = 0; i < part.size(); i++) {
                sum -= Math.log(Math.max(1e-9, outs.get(i).probabilities()[part.get(i).label()]));
            }
        }
        return sum / examples.size();
    }

    @Test
    void metricsMatchAHandComputedExample() {
        final Evaluation e = Evaluation.of(new int[] {1, 1, 0, 0, 1}, new double[] {0.9, 0.4, 0.3, 0.6, 0.8});
        assertThat(e.confusion()[1][1]).isEqualTo(2);
        assertThat(e.confusion()[1][0]).isEqualTo(1);
        assertThat(e.confusion()[0][1]).isEqualTo(1);
        assertThat(e.accuracy()).isEqualTo(0.6);
        assertThat(e.precision()).isCloseTo(2.0 / 3, org.assertj.core.api.Assertions.within(1e-9));
        assertThat(e.recall()).isCloseTo(2.0 / 3, org.assertj.core.api.Assertions.within(1e-9));
        assertThat(e.rocAuc()).isCloseTo(5.0 / 6, org.assertj.core.api.Assertions.within(1e-9));
    }
}
