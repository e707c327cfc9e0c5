package dev.streamformer.corpus;

import java.text.Normalizer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.TreeMap;

import dev.streamformer.text.internals.TokenizerFiles;

/**
 * Learns a WordPiece vocabulary the way Hugging Face's WordPiece trainer does: words are split as
 * BERT splits them (lowercase, accents stripped, punctuation apart), each word starts as characters
 * ({@code c}, then {@code ##c} inside the word), and the most frequent adjacent pair is merged
 * until the vocabulary is full. Ties break by symbol order, so the same texts always give the same
 * vocabulary.
 */
public final class WordPieceTrainer {

    private static final List<String> SPECIAL_TOKENS = TokenizerFiles.SPECIAL_TOKENS;
    private static final String CONTINUATION = TokenizerFiles.CONTINUATION;

    private static final int MAX_WORD_CHARS = 100;

    private WordPieceTrainer() {
    }

    /**
     * Learns a vocabulary.
     *
     * @param texts the training texts
     * @param vocabSize the vocabulary size, special tokens included; when the texts hold more distinct
     *     characters (at a word's start and inside one) than fit, the most frequent fill half of it, the
     *     rest read as [UNK] (as Hugging Face's {@code limit_alphabet} does) and merged pieces the other half
     * @param minFrequency words seen fewer times are left out of the merges (their characters still count)
     * @return the tokens in id order, at most {@code vocabSize}
     * @throws IllegalArgumentException when the special tokens alone do not fit
     */
    public static List<String> train(final Iterable<String> texts, final int vocabSize, final int minFrequency) {
        if (vocabSize <= SPECIAL_TOKENS.size()) {
            throw new IllegalArgumentException("a vocabulary of " + vocabSize + " tokens holds only the "
                    + SPECIAL_TOKENS.size() + " special tokens: give a larger vocabulary size (8,000 is the default)");
        }
        final Map<String, Integer> words = new HashMap<>();
        for (final String text : texts) {
            for (final String word : preTokenize(text)) {
                if (word.length() <= MAX_WORD_CHARS) {
                    words.merge(word, 1, Integer::sum);
                }
            }
        }
        final Symbols symbols = new Symbols();
        final List<String> vocab = new ArrayList<>(SPECIAL_TOKENS);
        // Every character, at the start of a word and inside one, so that no seen word maps to [UNK].
        final TreeMap<String, Integer> alphabet = new TreeMap<>();
        words.forEach((word, n) -> {
            for (int i = 0; i < word.length(); ) {
                final int cp = word.codePointAt(i);
                final String c = new String(Character.toChars(cp));
                alphabet.merge(i == 0 ? c : CONTINUATION + c, n, Integer::sum);
                i += Character.charCount(cp);
            }
        });
        final int room = vocabSize - SPECIAL_TOKENS.size();
        if (alphabet.size() > room) {
            final Set<String> kept = new HashSet<>(alphabet.entrySet().stream()
                    .sorted(Map.Entry.<String, Integer>comparingByValue().reversed())
                    .limit(Math.max(1, room / 2)).map(Map.Entry::getKey).toList());
            alphabet.keySet().retainAll(kept);
        }
        alphabet.keySet().forEach(s -> {
            symbols.id(s);
            vocab.add(s);
        });
        final List<int[]> sequences = new ArrayList<>();
        final List<Integer> counts = new ArrayList<>();
        words.entrySet().stream()
                .filter(e -> e.getValue() >= minFrequency)
                .sorted(Map.Entry.comparingByKey())
                .forEach(e -> {
                    sequences.add(initial(e.getKey(), symbols));
                    counts.add(e.getValue());
                });
        merge(sequences, counts, symbols, vocab, vocabSize);
        return vocab;
    }

    private static int[] initial(final String word, final Symbols symbols) {
        final List<Integer> ids = new ArrayList<>();
        for (int i = 0; i < word.length(); ) {
            final int cp = word.codePointAt(i);
            final String c = new String(Character.toChars(cp));
            ids.add(symbols.id(i == 0 ? c : CONTINUATION + c));
            i += Character.charCount(cp);
        }
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    private static void merge(final List<int[]> sequences, final List<Integer> counts, final Symbols symbols,
            final List<String> vocab, final int vocabSize) {
        final Map<Long, Long> pairCounts = new HashMap<>();
        final Map<Long, Set<Integer>> pairWords = new HashMap<>();
        for (int w = 0; w < sequences.size(); w++) {
            addPairs(sequences.get(w), counts.get(w), w, pairCounts, pairWords);
        }
        final PriorityQueue<long[]> queue = new PriorityQueue<>((x, y) -> x[0] != y[0]
                ? Long.compare(y[0], x[0]) : Long.compare(x[1], y[1]));
        pairCounts.forEach((pair, n) -> queue.add(new long[] {n, pair}));
        final Set<String> inVocab = new HashSet<>(vocab);
        while (vocab.size() < vocabSize && !queue.isEmpty()) {
            final long[] top = queue.poll();
            final long pair = top[1];
            final Long current = pairCounts.get(pair);
            if (current == null || current != top[0]) {
                continue;
            }
            if (current < 2) {
                break;
            }
            final int a = (int) (pair >>> 32);
            final int b = (int) pair;
            final String merged = symbols.name(a) + symbols.name(b).substring(CONTINUATION.length());
            final int c = symbols.id(merged);
            if (inVocab.add(merged)) {
                vocab.add(merged);
            }
            final Map<Long, Long> changed = new HashMap<>();
            for (final int w : new ArrayList<>(pairWords.getOrDefault(pair, Set.of()))) {
                final int[] before = sequences.get(w);
                final int n = counts.get(w);
                removePairs(before, n, w, pairCounts, pairWords, changed);
                final int[] after = replace(before, a, b, c);
                sequences.set(w, after);
                addPairs(after, n, w, pairCounts, pairWords);
                for (int i = 0; i + 1 < after.length; i++) {
                    changed.put(key(after[i], after[i + 1]), 0L);
                }
            }
            pairCounts.remove(pair);
            pairWords.remove(pair);
            for (final long p : changed.keySet()) {
                final Long n = pairCounts.get(p);
                if (n != null && n > 0) {
                    queue.add(new long[] {n, p});
                }
            }
        }
    }

    private static int[] replace(final int[] seq, final int a, final int b, final int c) {
        final int[] out = new int[seq.length];
        int k = 0;
        for (int i = 0; i < seq.length; i++) {
            if (i + 1 < seq.length && seq[i] == a && seq[i + 1] == b) {
                out[k++] = c;
                i++;
            } else {
                out[k++] = seq[i];
            }
        }
        return java.util.Arrays.copyOf(out, k);
    }

    private static void addPairs(final int[] seq, final long n, final int word, final Map<Long, Long> counts,
            final Map<Long, Set<Integer>> words) {
        for (int i = 0; i + 1 < seq.length; i++) {
            final long p = key(seq[i], seq[i + 1]);
            counts.merge(p, n, Long::sum);
            words.computeIfAbsent(p, x -> new HashSet<>()).add(word);
        }
    }

    private static void removePairs(final int[] seq, final long n, final int word, final Map<Long, Long> counts,
            final Map<Long, Set<Integer>> words, final Map<Long, Long> changed) {
        for (int i = 0; i + 1 < seq.length; i++) {
            final long p = key(seq[i], seq[i + 1]);
            counts.merge(p, -n, Long::sum);
            final Set<Integer> ws = words.get(p);
            if (ws != null) {
                ws.remove(word);
            }
            changed.put(p, 0L);
        }
    }

    private static long key(final int a, final int b) {
        return ((long) a << 32) | (b & 0xFFFFFFFFL);
    }

    /**
     * Splits text into words as the written tokenizer does: long runs of repeated punctuation cut
     * short ({@link TokenizerFiles#cutRuns}), then as BERT's basic tokenizer does: lowercase, strip
     * accents, split on whitespace, and make every punctuation character a word of its own. Control
     * characters are dropped.
     *
     * @param text the text
     * @return the words
     */
    public static List<String> preTokenize(final String text) {
        final String lower = Normalizer.normalize(TokenizerFiles.cutRuns(text).toLowerCase(Locale.ROOT),
                Normalizer.Form.NFD);
        final List<String> words = new ArrayList<>();
        final StringBuilder current = new StringBuilder();
        for (int i = 0; i < lower.length(); ) {
            final int cp = lower.codePointAt(i);
            i += Character.charCount(cp);
            final int type = Character.getType(cp);
            if (type == Character.NON_SPACING_MARK || cp == 0 || cp == 0xFFFD
                    || (Character.isISOControl(cp) && !Character.isWhitespace(cp))) {
                continue;
            }
            if (Character.isWhitespace(cp) || Character.isSpaceChar(cp)) {
                flush(current, words);
            } else if (isPunctuation(cp)) {
                flush(current, words);
                words.add(new String(Character.toChars(cp)));
            } else {
                current.appendCodePoint(cp);
            }
        }
        flush(current, words);
        return words;
    }

    private static void flush(final StringBuilder current, final List<String> words) {
        if (current.length() > 0) {
            words.add(current.toString());
            current.setLength(0);
        }
    }

    /** BERT's definition: ASCII symbols and every Unicode punctuation category. */
    private static boolean isPunctuation(final int cp) {
        if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) {
            return true;
        }
        final int t = Character.getType(cp);
        return t == Character.CONNECTOR_PUNCTUATION || t == Character.DASH_PUNCTUATION
                || t == Character.START_PUNCTUATION || t == Character.END_PUNCTUATION
                || t == Character.INITIAL_QUOTE_PUNCTUATION || t == Character.FINAL_QUOTE_PUNCTUATION
                || t == Character.OTHER_PUNCTUATION;
    }

    /** Symbol names and ids. */
    private static final class Symbols {
        private final Map<String, Integer> ids = new HashMap<>();
        private final List<String> names = new ArrayList<>();

        int id(final String name) {
            return ids.computeIfAbsent(name, n -> {
                names.add(n);
                return names.size() - 1;
            });
        }

        String name(final int id) {
            return names.get(id);
        }
    }
}
