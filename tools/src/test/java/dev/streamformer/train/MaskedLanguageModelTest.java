package dev.streamformer.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

import dev.streamformer.corpus.DemoSample;
import dev.streamformer.model.Activation;
import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.DefaultModel;
import dev.streamformer.model.ModelConfig;
import dev.streamformer.model.ParameterLayout;
import dev.streamformer.model.SharingPlan;
import dev.streamformer.text.TextTokenizer;

class MaskedLanguageModelTest {

    @Test
    void masksAboutTheRateOfOrdinaryTokensAndNeverASpecialOne() {
        final Random random = new Random(1);
        final List<int[]> batch = new ArrayList<>();
        for (int b = 0; b < 20; b++) {
            final int[] ids = new int[60];
            ids[0] = 2;
            for (int i = 1; i < 59; i++) {
                ids[i] = 5 + random.nextInt(900);
            }
            ids[59] = 3;
            batch.add(b % 2 == 0 ? ids : java.util.Arrays.copyOf(ids, 30));
        }
        final MaskedLanguageModel.Masked m = MaskedLanguageModel.mask(batch, 1000, 0.15, new Random(2));
        final int ordinary = 10 * 58 + 10 * 29;
        assertThat((double) m.targets().length / ordinary).isBetween(0.11, 0.19);
        int masked = 0;
        for (int k = 0; k < m.positions().length; k++) {
            final int b = (int) (m.positions()[k] / 60);
            final int i = (int) (m.positions()[k] % 60);
            assertThat(m.targets()[k]).as("the target is the original token").isEqualTo(batch.get(b)[i]);
            assertThat(m.targets()[k]).isGreaterThanOrEqualTo(MaskedLanguageModel.FIRST_ORDINARY_ID);
            if (m.inputs().get(b).tokenIds()[i] == MaskedLanguageModel.MASK_ID) {
                masked++;
            }
        }
        assertThat((double) masked / m.targets().length).as("share replaced by [MASK]").isBetween(0.7, 0.9);
        for (int b = 0; b < batch.size(); b++) {
            assertThat(m.inputs().get(b).tokenIds()[0]).isEqualTo(2);
        }
    }

    @Test
    void windowsCutALongTextIntoConsecutivePiecesEachWithClsAndSep() {
        final int[] ids = {2, 10, 11, 12, 13, 14, 15, 16, 3};
        assertThat(MaskedLanguageModel.windows(ids, 5, 9)).containsExactly(
                new int[] {2, 10, 11, 12, 3}, new int[] {2, 13, 14, 15, 3}, new int[] {2, 16, 3});
        assertThat(MaskedLanguageModel.windows(ids, 5, 2)).as("at most the given windows, from the start")
                .containsExactly(new int[] {2, 10, 11, 12, 3}, new int[] {2, 13, 14, 15, 3});
        assertThat(MaskedLanguageModel.windows(ids, 9, 3)).as("a text that fits is one window")
                .containsExactly(ids);
        assertThat(MaskedLanguageModel.windows(new int[] {2, 3}, 5, 3)).containsExactly(new int[] {2, 3});
        assertThatThrownBy(() -> MaskedLanguageModel.windows(ids, 2, 1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void pretrainingLowersTheMaskedTokenLossAndChangesOnlyTheEncoder() throws Exception {
        final List<int[]> texts = new ArrayList<>();
        try (TextTokenizer tokenizer = TextTokenizer.load(DefaultModel.directory(), 48)) {
            for (final DemoSample.Item item : DemoSample.bundled().subList(0, 64)) {
                texts.add(tokenizer.encode(item.text()));
            }
        }
        final ModelConfig config = new ModelConfig(8000, 32, 64, 2, 2, 2, 128, 48, 2, Activation.GELU_NEW, 1e-12,
                true, SharingPlan.ALL, List.of("ham", "spam"));
        final Checkpoint start = Checkpoint.random(config, 3);
        final ByteArrayOutputStream log = new ByteArrayOutputStream();
        final List<Float> losses = new ArrayList<>();
        final MaskedLanguageModel.Settings settings = new MaskedLanguageModel.Settings(8, 16, 3e-3, 0.1, 0.0, 5, 2,
                0.15);
        final PrintStream out = new PrintStream(log, true, StandardCharsets.UTF_8);
        final Checkpoint trained = MaskedLanguageModel.pretrain(start, texts, settings, out, (epoch, w) -> { });
        for (final String line : log.toString(StandardCharsets.UTF_8).split("\n")) {
            final int at = line.indexOf(" loss ");
            if (at >= 0) {
                losses.add(Float.parseFloat(line.substring(at + 6, line.indexOf(' ', at + 6))));
            }
        }
        assertThat(losses.get(0)).as("first smoothed loss near ln(8000) = 8.99").isGreaterThan(8f);
        assertThat(losses.get(losses.size() - 1)).as("last smoothed loss of %s", losses)
                .isLessThan(losses.get(0) - 1f);
        final String query = ParameterLayout.attentionPrefix(config, 0) + "attention.query.weight";
        assertThat(trained.floats(query)).isNotEqualTo(start.floats(query));
        assertThat(trained.floats(ParameterLayout.CLASSIFIER_PREFIX + ".weight"))
                .as("the classifier gets no gradient from this objective")
                .containsExactly(start.floats(ParameterLayout.CLASSIFIER_PREFIX + ".weight"));
        assertThat(trained.config()).isEqualTo(config);
    }
}
