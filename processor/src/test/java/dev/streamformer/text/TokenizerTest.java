package dev.streamformer.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.streamformer.model.DefaultModel;
import dev.streamformer.model.ModelDirectory;
import dev.streamformer.text.internals.TokenizerFiles;

class TokenizerTest {

    @TempDir
    Path dir;

    @Test
    void unknownWordsMapToTheUnknownTokenAndLongTextsAreTruncated() throws Exception {
        final Path model = DefaultModel.directory();
        try (TextTokenizer tokenizer = TextTokenizer.load(model, 16)) {
            final int[] unknown = tokenizer.encode("ꙮꙮ");
            assertThat(unknown).containsExactly(2, 1, 3);
            final int[] truncated = tokenizer.encode("free ".repeat(100));
            assertThat(truncated).hasSize(16);
            assertThat(truncated[15]).isEqualTo(3);
        }
    }

    @Test
    void aLongTextIsCutToTheSameTokensAsWhenTokenizedWhole() throws Exception {
        final Path model = DefaultModel.directory();
        final StringBuilder mail = new StringBuilder();
        for (int i = 0; mail.length() < 200_000; i++) {
            mail.append("Re: offer ").append(i).append(i % 7 == 0 ? "\n\n" : " ").append("cheap-meds,click.here ");
        }
        final String text = mail.toString();
        try (TextTokenizer tokenizer = TextTokenizer.load(model, 128);
                HuggingFaceTokenizer whole = HuggingFaceTokenizer.builder()
                        .optTokenizerPath(model.resolve(ModelDirectory.TOKENIZER)).optAddSpecialTokens(true)
                        .optTruncation(true).optMaxLength(128).optPadding(false).build()) {
            final int[] expected = java.util.Arrays.stream(whole.encode(text).getIds()).mapToInt(Math::toIntExact)
                    .toArray();
            final TextTokenizer.Tokens tokens = tokenizer.tokens(text);
            assertThat(tokens.ids()).isEqualTo(expected).hasSize(128);
            assertThat(tokens.truncated()).isTrue();
            final String oneWord = "x".repeat(50_000) + " free";
            assertThat(tokenizer.tokens(oneWord).ids()).as("no whitespace to cut at: tokenized whole")
                    .isEqualTo(java.util.Arrays.stream(whole.encode(oneWord).getIds()).mapToInt(Math::toIntExact)
                            .toArray());
        }
    }

    @Test
    void theShippedTokenizerGivesStableIdsForTheSameText() throws Exception {
        final String text = "Re: [ILUG] LCD monitors and linux -- cheap Viagra!!! Click http://example.com now";
        try (TextTokenizer a = TextTokenizer.load(DefaultModel.directory(), 256);
                TextTokenizer b = TextTokenizer.load(DefaultModel.directory(), 256)) {
            final int[] ids = a.encode(text);
            assertThat(b.encode(text)).isEqualTo(ids);
            assertThat(ids.length).isBetween(10, 40);
            assertThat(ids).doesNotContain(1);
        }
    }

    @Test
    void theInputLengthIsWhereTheTokenizerTruncatesAtMostThePositions() throws Exception {
        assertThat(TextTokenizer.inputLength(DefaultModel.directory())).as("the shipped model, trained at 128")
                .isEqualTo(128);
        TokenizerFiles.write(dir, List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "free", "money"));
        assertThat(TextTokenizer.inputLength(dir, 64)).as("a tokenizer that does not truncate").isEqualTo(64);
        final String text = "free money ".repeat(50);
        final int[] before;
        try (TextTokenizer t = TextTokenizer.load(dir, 32)) {
            before = t.encode(text);
        }
        TokenizerFiles.writeInputLength(dir, 32);
        assertThat(Files.readString(dir.resolve(ModelDirectory.TOKENIZER)))
                .contains("\"truncation\":{\"direction\":\"Right\",\"max_length\":32,\"strategy\":\"LongestFirst\",\"stride\":0}");
        assertThat(TextTokenizer.inputLength(dir, 64)).isEqualTo(32);
        assertThat(TextTokenizer.inputLength(dir, 16)).as("capped by max_position_embeddings").isEqualTo(16);
        try (TextTokenizer t = TextTokenizer.load(dir, 32)) {
            assertThat(t.encode(text)).as("the tokenizers library reads the truncation it wrote").isEqualTo(before);
        }
        assertThat(TextTokenizer.inputLength(dir.resolve("missing"), 64)).as("no tokenizer.json").isEqualTo(64);
    }

    @Test
    void aRequestedLengthIsCappedByThePositionsAndNoneGivesTheModelsOwn() throws Exception {
        TokenizerFiles.write(dir, List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "free", "money"));
        TokenizerFiles.writeInputLength(dir, 32);
        assertThat(TextTokenizer.length(dir, 0, 64)).as("none asked for").isEqualTo(32);
        assertThat(TextTokenizer.length(dir, 48, 64)).as("longer than trained, within the positions").isEqualTo(48);
        assertThat(TextTokenizer.length(dir, 100, 64)).as("capped by max_position_embeddings").isEqualTo(64);
        assertThat(TextTokenizer.length(DefaultModel.directory(), (Integer) null)).isEqualTo(128);
        assertThat(TextTokenizer.length(DefaultModel.directory(), 1000)).as("the shipped model's 256 positions")
                .isEqualTo(256);
        assertThatThrownBy(() -> TextTokenizer.length(dir, -1, 64)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("0 for the length the model was trained at");
    }
}
