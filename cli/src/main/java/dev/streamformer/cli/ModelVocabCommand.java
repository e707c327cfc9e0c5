package dev.streamformer.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

import dev.streamformer.corpus.Corpus;
import dev.streamformer.corpus.WordPieceTrainer;
import dev.streamformer.text.internals.TokenizerFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code streamformer model vocab}. */
@Command(name = "vocab",
        mixinStandardHelpOptions = true,
        description = "Learn a WordPiece vocabulary from the training part of a split and write tokenizer.json and"
                + " vocab.txt into a model directory.")
final class ModelVocabCommand implements Callable<Integer> {

    @Option(names = "--data", defaultValue = "data/spamassassin", description = "Corpus directory (default: ${DEFAULT-VALUE}).")
    private Path data;

    @Option(names = "--split", defaultValue = "random", description = "random (stratified 80/10/10) or later"
            + " (train on the -1 groups) (default: ${DEFAULT-VALUE}).")
    private String split;

    @Option(names = "--seed", defaultValue = "13", description = "Split seed (default: ${DEFAULT-VALUE}).")
    private long seed;

    @Option(names = "--vocab-size", defaultValue = "8000", description = "Tokens, specials included; when the corpus"
            + " has more distinct characters than fit, the most frequent fill half and the rest read as [UNK]"
            + " (default: ${DEFAULT-VALUE}).")
    private int vocabSize;

    @Option(names = "--min-frequency", defaultValue = "2",
            description = "Words seen fewer times take no part in merges (default: ${DEFAULT-VALUE}).")
    private int minFrequency;

    @Option(names = "--out", required = true, description = "Model directory to write the tokenizer files into.")
    private Path out;

    @Override
    public Integer call() throws Exception {
        final List<Corpus.Message> messages = Corpus.read(data);
        final Corpus.Split s = Corpus.split(split, messages, seed);
        final List<String> vocab = WordPieceTrainer.train(s.train().stream().map(Corpus.Message::text).toList(),
                vocabSize, minFrequency);
        TokenizerFiles.write(out, vocab);
        System.out.printf("wrote %d tokens learned from %d training messages to %s%n", vocab.size(), s.train().size(), out);
        return 0;
    }
}
