package dev.streamformer.text;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.streamformer.model.DefaultModel;

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
}
