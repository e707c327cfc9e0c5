package dev.streamformer.cli;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.Callable;

import dev.streamformer.stream.StreamformerConfig;
import dev.streamformer.client.Requests;
import dev.streamformer.client.PredictionWaiter;
import dev.streamformer.client.RequestProducer;
import dev.streamformer.corpus.DemoSample;
import dev.streamformer.kafka.internals.BrokerCheck;
import dev.streamformer.kafka.internals.TopicAdmin;
import dev.streamformer.model.DefaultModel;
import dev.streamformer.model.EncoderBatch;
import dev.streamformer.model.EncoderInput;
import dev.streamformer.model.InvalidInputException;
import dev.streamformer.model.ModelConfig;
import dev.streamformer.model.SpecialTokens;
import dev.streamformer.schemas.TokenizedInput;
import dev.streamformer.schemas.wire.WireSerdes;
import dev.streamformer.text.TextTokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code streamformer produce}. */
@Command(name = "produce",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {"Tokenize text with the model's tokenizer and produce requests; prints how many were acknowledged.",
            "Input: the lines of the given files (or standard input), one text per line; --file-per-message reads each"
                + " file as one text; --token-ids reads comma-separated token ids instead; --sample N takes N messages"
                + " of the bundled demo sample.",
            "Every input is checked before anything is sent. The request topic must exist: produce waits up to 60 s"
                + " for it, as when the processor that creates it is starting."})
final class ProduceCommand implements Callable<Integer> {

    /** How long produce waits for the request topic to exist, as when a processor that creates it is starting. */
    private static final Duration TOPIC_WAIT = Duration.ofSeconds(60);

    @Mixin
    private KafkaOptions kafka;

    @Mixin
    private FormatOptions format;

    @Parameters(paramLabel = "<file>", arity = "0..*", description = "Input files (default: standard input).")
    private List<Path> files = new ArrayList<>();

    @Option(names = "--model", paramLabel = "<dir>", description = "Model whose tokenizer.json tokenizes the texts and whose vocabulary --token-ids are"
            + " checked against (default: the shipped model).")
    private Path model;

    @Option(names = "--token-ids", description = "Lines are comma-separated token ids, not text.")
    private boolean tokenIds;

    @Option(names = "--as-text",
            description = "Send the text itself (TokenizedInput version 2) and let the processor tokenize it with the"
                    + " model it serves, instead of tokenizing here; needs a processor of version 2 or later.")
    private boolean asText;

    @Option(names = "--file-per-message", description = "Each file is one text (an e-mail, say), not one text per line.")
    private boolean filePerMessage;

    @Option(names = "--sample", paramLabel = "<n>", defaultValue = "0",
            description = "Produce n messages of the bundled demo sample instead of reading input (default: ${DEFAULT-VALUE}).")
    private int sample;

    @Option(names = "--max-length", paramLabel = "<tokens>",
            description = "Truncate texts to this many tokens, at most the model's max_position_embeddings (default:"
                    + " the model's input length, the one it was trained at: 128 for the shipped model).")
    private Integer maxLength;

    @Option(names = "--rate", paramLabel = "<records/s>", defaultValue = "0",
            description = "Pace the records; 0 = as fast as possible (default: ${DEFAULT-VALUE}).")
    private double rate;

    @Option(names = "--id-prefix", paramLabel = "<prefix>", description = "Request ids are prefix + sequence number"
            + " (default: req-<epoch ms>-).")
    private String idPrefix;

    @Option(names = "--header", paramLabel = "<key=value>",
            description = "A Kafka header on every request, for example traceparent=00-<trace id>-<span id>-01 (the"
                    + " processor continues that trace and copies traceparent, tracestate and correlation-id to the"
                    + " outputs); repeatable.")
    private Map<String, String> headers = new LinkedHashMap<>();

    @Option(names = "--wait",
            description = "After producing, wait for each request's prediction (read_committed from the prediction"
                    + " topic) and print it beside its input; exit 1 if some do not arrive within --wait-timeout.")
    private boolean await;

    @Option(names = "--wait-timeout", paramLabel = "<seconds>", defaultValue = "60",
            description = "How long --wait waits for the last prediction (default: ${DEFAULT-VALUE}).")
    private int waitTimeout;

    @Override
    public Integer call() throws Exception {
        final Properties all = kafka.properties();
        final String topic = TopicKind.REQUESTS.topic(all);
        final WireSerdes serdes = format.serdes(all);
        final String prefix = idPrefix != null ? idPrefix : "req-" + System.currentTimeMillis() + "-";
        final List<TokenizedInput> requests = new ArrayList<>();
        final List<Text> texts = texts();
        // Every input is read and checked before anything is sent: a bad line sends nothing.
        if (asText && tokenIds) {
            throw new IllegalArgumentException("--as-text and --token-ids exclude each other: lines are either text or"
                    + " token ids");
        }
        final Path dir = model != null ? model : DefaultModel.directory();
        if (asText) {
            for (final Text t : texts) {
                if (t.text().isBlank()) {
                    throw new IllegalArgumentException(t.where() + ": the text is empty; nothing was sent (the"
                            + " processor would refuse it as a VALIDATION dead letter)");
                }
                requests.add(Requests.ofText(prefix + requests.size(), t.text(), Map.of()));
            }
        } else {
            final ModelConfig config = ModelConfig.read(dir);
            final SpecialTokens special = SpecialTokens.read(dir);
            try (TextTokenizer tokenizer = tokenIds ? null : TextTokenizer.load(dir, TextTokenizer.length(dir, maxLength))) {
                for (final Text t : texts) {
                    final int[] ids = tokenIds ? TokenIdLine.parse(t.text(), t.where()) : tokenizer.encode(t.text());
                    check(t, ids, config, special, dir);
                    requests.add(request(prefix + requests.size(), ids, Map.of()));
                }
            }
        }
        final Properties client = StreamformerConfig.kafkaOnly(all);
        BrokerCheck.await(client, BrokerCheck.timeout(all));
        // Not while the topic is being created: a first batch that meets a partition before its leader serves
        // it can be stuck until it expires (TopicAdmin).
        TopicAdmin.awaitServed(client, topic, TOPIC_WAIT);
        final Map<String, String> inputs = new LinkedHashMap<>();
        for (int i = 0; i < requests.size(); i++) {
            inputs.put(requests.get(i).getRequestId(), texts.get(i).text());
        }
        // The reader is at the end of the prediction topic before the first request is sent.
        try (PredictionWaiter waiter = await ? new PredictionWaiter(client, TopicKind.PREDICTIONS.topic(all),
                serdes.prediction().deserializer()) : null) {
            final long acknowledged = RequestProducer.produce(client, topic, requests.iterator(), rate,
                    serdes.tokenizedInput().serializer(), request -> headers);
            // With --wait, standard output carries only the predictions.
            (waiter == null ? System.out : System.err).printf("produced %d request%s to %s (%s)%s%n", acknowledged,
                    acknowledged == 1 ? "" : "s", topic, serdes.format().configName(),
                    waiter == null ? "" : "; waiting for the predictions");
            if (waiter == null) {
                return 0;
            }
            final Set<String> missing = waiter.await(inputs.keySet(), Duration.ofSeconds(waitTimeout), p -> {
                final String label = p.getLabel();
                System.out.printf(Locale.ROOT, "%s  %-6s %.4f  %s%n", p.getRequestId(), label,
                        p.getProbabilities().get(label), Excerpt.of(inputs.get(p.getRequestId())));
            });
            if (!missing.isEmpty()) {
                System.err.printf("error: %d of %d predictions did not arrive within %d s: is a processor (streamformer"
                        + " run) serving %s?%n", missing.size(), inputs.size(), waitTimeout, topic);
                return 1;
            }
        }
        return 0;
    }

    /** One input and where it came from, for messages. */
    private record Text(String where, String text) {
    }

    private List<Text> texts() throws Exception {
        final List<Text> out = new ArrayList<>();
        if (sample > 0) {
            final List<DemoSample.Item> items = DemoSample.bundled();
            for (int i = 0; i < sample; i++) {
                out.add(new Text("sample " + i, items.get(i % items.size()).text()));
            }
            return out;
        }
        if (files.isEmpty()) {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
                addLines(out, "stdin", r.lines().toList());
            }
        }
        for (final Path file : files) {
            if (filePerMessage) {
                out.add(new Text(file.toString(), Files.readString(file, StandardCharsets.ISO_8859_1)));
            } else {
                addLines(out, file.toString(), Files.readAllLines(file, StandardCharsets.UTF_8));
            }
        }
        return out;
    }

    private static void addLines(final List<Text> out, final String source, final List<String> lines) {
        for (int i = 0; i < lines.size(); i++) {
            if (!lines.get(i).isBlank()) {
                out.add(new Text(source + " line " + (i + 1), lines.get(i)));
            }
        }
    }

    /** The processor's own checks of a request, against the model whose tokenizer or vocabulary the ids come from. */
    private static void check(final Text t, final int[] ids, final ModelConfig config, final SpecialTokens special,
            final Path dir) {
        final EncoderInput input = EncoderInput.of(ids);
        try {
            EncoderBatch.validate(config, -1, input);
            if (special.onlySpecial(input)) {
                throw new InvalidInputException(-1, "the text is empty: it holds only special tokens ("
                        + special.describe(ids) + ")");
            }
        } catch (InvalidInputException e) {
            throw new IllegalArgumentException(t.where() + ": " + e.getMessage() + "; nothing was sent (checked against"
                    + " the model in " + dir + "; --model names another)", e);
        }
    }

    static TokenizedInput request(final String id, final int[] ids, final Map<String, String> metadata) {
        return Requests.of(id, ids, metadata);
    }
}
