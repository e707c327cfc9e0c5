package dev.streamformer.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

import dev.streamformer.corpus.Corpus;

class ClassicFilterTest {

    private static final String[] HAM = {"meeting", "agenda", "minutes", "thanks", "review", "patch", "build", "release"};
    private static final String[] SPAM = {"viagra", "winner", "$$$", "unsubscribe", "lottery", "click", "offer", "free!!!"};
    private static final String[] COMMON = {"the", "a", "to", "of", "and", "you", "we", "is", "for", "on"};

    /** Messages of common words with a few class words; unbalanced like the corpus (1 spam in 3). */
    private static List<Corpus.Message> messages(final int n, final long seed) {
        final SplittableRandom random = new SplittableRandom(seed);
        final List<Corpus.Message> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            final int label = i % 3 == 0 ? 1 : 0;
            final StringBuilder text = new StringBuilder();
            for (int w = 0; w < 30; w++) {
                text.append(COMMON[random.nextInt(COMMON.length)]).append(' ');
                if (random.nextInt(6) == 0) {
                    final String[] words = label == 1 ? SPAM : HAM;
                    text.append(words[random.nextInt(words.length)]).append(' ');
                }
            }
            out.add(new Corpus.Message("m" + i, label == 1 ? "spam-1" : "easy_ham-1", label, text.toString()));
        }
        return out;
    }

    @Test
    void learnsWhichWordsMarkSpamAndGeneralisesToUnseenMessages() {
        final ClassicFilter filter = ClassicFilter.train(messages(300, 1), ClassicFilter.Settings.defaults());
        final ClassicFilter.Result r = ClassicFilter.evaluate(filter, messages(150, 2));
        assertThat(r.evaluation().accuracy()).isGreaterThan(0.97);
        assertThat(r.evaluation().rocAuc()).isGreaterThan(0.99);
        assertThat(r.messagesPerSecond()).isPositive();
        assertThat(filter.spamProbability("click here, lottery winner, free!!! offer")).isGreaterThan(0.9);
        assertThat(filter.spamProbability("minutes of the release review meeting")).isLessThan(0.1);
    }

    @Test
    void featuresAreWordsBigramsAndCharacterGramsCountedOncePerSlot() {
        final var counts = ClassicFilter.count("Free free");
        // "free" twice: one unigram slot counted 2, one bigram, and the 3-5-grams of " free " counted 2 each.
        assertThat(counts.index()).isSorted().doesNotHaveDuplicates();
        final float total = (float) java.util.stream.IntStream.range(0, counts.tf().length)
                .mapToDouble(i -> counts.tf()[i]).sum();
        assertThat(total).isEqualTo(2 + 1 + 2 * (4 + 3 + 2));
        assertThat(ClassicFilter.count("").index()).isEmpty();
    }

    @Test
    void outOfFoldScoresComeFromFiltersThatNeverSawTheMessage() {
        final List<Corpus.Message> train = new ArrayList<>(messages(300, 3));
        // A ham message written in the spam words: only a filter trained on it can call it ham.
        final String odd = "lottery winner click offer unsubscribe lottery winner click offer";
        train.set(7, new Corpus.Message("odd", "easy_ham-1", 0, odd));
        final ClassicFilter inSample = ClassicFilter.train(train, ClassicFilter.Settings.defaults());
        final double[] outOfFold = ClassicFilter.outOfFold(train, 5, ClassicFilter.Settings.defaults(), null);

        assertThat(inSample.spamProbability(odd)).isLessThan(0.5);
        assertThat(outOfFold[7]).isGreaterThan(0.9);
        assertThat(outOfFold).hasSize(train.size());
        int right = 0;
        for (int i = 0; i < train.size(); i++) {
            right += (outOfFold[i] > 0.5) == (train.get(i).label() == 1) ? 1 : 0;
        }
        assertThat(right).isGreaterThan(290);
        assertThat(ClassicFilter.outOfFold(train, 5, ClassicFilter.Settings.defaults(), null)).isEqualTo(outOfFold);
    }
}
