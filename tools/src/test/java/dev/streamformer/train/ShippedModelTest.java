package dev.streamformer.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.streamformer.corpus.DemoSample;
import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.DefaultModel;
import dev.streamformer.model.EngineSettings;
import dev.streamformer.model.InferenceEngine;
import dev.streamformer.model.InferenceModel;
import dev.streamformer.model.ModelDirectory;
import dev.streamformer.model.ParameterStats;
import dev.streamformer.text.TextTokenizer;

/**
 * The model shipped as the processor's default, on the committed held-out sample: the 604 e-mails
 * of the random split's test part, which neither its training nor its vocabulary saw.
 */
class ShippedModelTest {

    @Test
    void shippedModelIsTrainedSharedCompactAndAtLeast97PercentAccurateOnTheHeldOutSample() throws Exception {
        assertThat(DefaultModel.isTrained()).as("trained weights ship with the processor").isTrue();
        final Checkpoint checkpoint = Checkpoint.load(DefaultModel.directory());
        final ParameterStats stats = ParameterStats.of(checkpoint);
        assertThat(stats.sharingRatio()).as("a shared plan").isGreaterThan(1.5);
        assertThat(java.nio.file.Files.size(DefaultModel.directory().resolve(ModelDirectory.WEIGHTS)))
                .isLessThanOrEqualTo(8L * 1024 * 1024);

        final List<DemoSample.Item> sample = DemoSample.bundled();
        assertThat(sample).hasSize(604);
        final List<Example> examples = new ArrayList<>();
        try (TextTokenizer tokenizer = TextTokenizer.load(DefaultModel.directory(),
                TextTokenizer.inputLength(DefaultModel.directory()))) {
            for (final DemoSample.Item item : sample) {
                examples.add(new Example(item.id(), tokenizer.encode(item.text()), item.label().equals("spam") ? 1 : 0));
            }
        }
        try (InferenceModel model = DefaultModel.load(EngineSettings.of(InferenceEngine.DEFAULT, 2))) {
            final Evaluation e = Evaluation.of(model, examples, 16);
            System.out.print(e.toTable());
            assertThat(e.accuracy()).isGreaterThanOrEqualTo(0.97);
        }
    }
}
