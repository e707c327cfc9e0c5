package dev.streamformer.corpus;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.streamformer.model.ModelDirectory;
import dev.streamformer.text.TextTokenizer;
import dev.streamformer.text.internals.TokenizerFiles;

/** A vocabulary learned from texts, written as the files the processor's tokenizer reads. */
class WordPieceTrainerTest {

    @TempDir
    Path dir;

    @Test
    void moreCharactersThanTheVocabularyHoldsKeepTheMostFrequentAndLeaveRoomForPieces() {
        final StringBuilder rare = new StringBuilder();
        for (int cp = 0x4E00; cp < 0x4E00 + 200; cp++) {
            rare.append(Character.toChars(cp)).append(' ');
        }
        final List<String> texts = List.of(rare.toString(), "free money free money free money offer offer",
                "free gift free trial money back");
        final List<String> vocab = WordPieceTrainer.train(texts, 60, 1);
        assertThat(vocab).as("the size asked for, not the 200+ characters seen").hasSizeLessThanOrEqualTo(60)
                .contains("f", "##r", "##e", "m").doesNotContain(new String(Character.toChars(0x4E00 + 199)))
                .as("merged pieces in the other half").contains("free");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> WordPieceTrainer.train(texts, 5, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("larger vocabulary size");
    }

    @Test
    void learnsTheSameVocabularyFromTheSameTextsWithSpecialTokensFirst() {
        final List<String> texts = List.of("Free money now! Click here for free money.", "Meeting notes: the kernel"
                + " build failed again", "free offer, free gift, free trial");
        final List<String> a = WordPieceTrainer.train(texts, 120, 1);
        final List<String> b = WordPieceTrainer.train(texts, 120, 1);
        assertThat(a).isEqualTo(b);
        assertThat(a.subList(0, 5)).containsExactly("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]");
        assertThat(a).contains("free", "money").doesNotHaveDuplicates();
    }

    @Test
    void theHuggingFaceBindingUsesTheLearnedPiecesAndFramesWithClsAndSep() throws Exception {
        final List<String> vocab = WordPieceTrainer.train(Collections.nCopies(5,
                "unsubscribe now to stop receiving offers; subscribe to offers"), 80, 1);
        TokenizerFiles.write(dir, vocab);
        assertThat(Files.readAllLines(dir.resolve(ModelDirectory.VOCAB))).isEqualTo(vocab);
        try (TextTokenizer tokenizer = TextTokenizer.load(dir, 64)) {
            final int[] ids = tokenizer.encode("Subscribe to OFFERS");
            assertThat(ids[0]).isEqualTo(vocab.indexOf("[CLS]"));
            assertThat(ids[ids.length - 1]).isEqualTo(vocab.indexOf("[SEP]"));
            assertThat(ids).contains(vocab.indexOf("subscribe"), vocab.indexOf("to"), vocab.indexOf("offers"));
            assertThat(tokenizer.encode("Subscribe to OFFERS")).isEqualTo(ids);
        }
    }

    @Test
    void cutsLongRunsOfPunctuationTheSameWayAsTheWrittenTokenizer() throws Exception {
        final String text = "Call now!!!!!!!! Only $$$$$ 99.......... ============== see --- you... ??";
        final String cut = "Call now!!! Only $$$ 99... === see --- you... ??";
        assertThat(TokenizerFiles.cutRuns(text)).isEqualTo(cut);
        assertThat(WordPieceTrainer.preTokenize(text)).isEqualTo(WordPieceTrainer.preTokenize(cut))
                .containsSubsequence("now", "!", "!", "!", "only", "$", "$", "$", "99", ".", ".", ".", "=", "=", "=",
                        "see");
        final List<String> vocab = WordPieceTrainer.train(Collections.nCopies(5, text), 60, 1);
        TokenizerFiles.write(dir, vocab);
        try (TextTokenizer tokenizer = TextTokenizer.load(dir, 64)) {
            assertThat(tokenizer.encode(text)).isEqualTo(tokenizer.encode(cut));
            assertThat(tokenizer.encode(text).length).isEqualTo(WordPieceTrainer.preTokenize(cut).size() + 2);
        }
    }
}
