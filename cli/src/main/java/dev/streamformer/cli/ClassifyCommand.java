package dev.streamformer.cli;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

import com.google.gson.Gson;

import dev.streamformer.model.DefaultModel;
import dev.streamformer.model.EncoderInput;
import dev.streamformer.model.EngineSettings;
import dev.streamformer.model.ExitPolicy;
import dev.streamformer.model.InferenceEngine;
import dev.streamformer.model.InferenceModel;
import dev.streamformer.model.InvalidInputException;
import dev.streamformer.model.ModelOutput;
import dev.streamformer.model.ValidInput;
import dev.streamformer.text.TextTokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code streamformer classify}: text in, prediction out, no Kafka. */
@Command(name = "classify",
        mixinStandardHelpOptions = true,
        description = {"Classify text with a model, locally: no Kafka. The model's own tokenizer turns the text into"
                + " token ids (truncated to --max-length), and the label and the probability of every label are"
                + " printed, one line per text.",
            "Texts: each argument is one text; with --file each file is one text; with neither, each non-blank line"
                + " of standard input is one text. Every text is checked before any is classified: an empty or"
                + " blank text is an error (exit 1), as it is a VALIDATION dead letter in the processor."})
final class ClassifyCommand implements Callable<Integer> {

    /** The most characters of each text a JSON line repeats. */
    private static final int JSON_TEXT_CHARS = 200;

    @Parameters(arity = "0..*", paramLabel = "<text>", description = "Texts to classify, one per argument.")
    private List<String> texts = new ArrayList<>();

    @Option(names = "--file", paramLabel = "<file>", description = "Files to classify, each file one text.")
    private List<Path> files = new ArrayList<>();

    @Option(names = "--model", paramLabel = "<dir>", description = "Model directory (default: the shipped model).")
    private Path model;

    @Option(names = "--engine", defaultValue = "onnxruntime", converter = EngineOption.class,
            description = "Engine of the forward pass: onnxruntime or pytorch (default: ${DEFAULT-VALUE}).")
    private InferenceEngine engine;

    @Option(names = "--max-length", paramLabel = "<tokens>",
            description = "Tokens per text, [CLS] and [SEP] included; longer texts are truncated (default: the"
                    + " model's input length, the one it was trained at: 128 for the shipped model).")
    private Integer maxLength;

    @Option(names = "--exit", paramLabel = "<policy>",
            description = "Exit policy of a model with exit heads: none, confidence:<p> or patience:<t>; each text then"
                    + " reports the layers it ran (default: the model's streamformer.exit_policy, else none).")
    private String exit;

    @Option(names = "--json", description = "Print JSON lines instead of a table: the text (its first "
            + JSON_TEXT_CHARS + " characters, whitespace collapsed), the label, the probabilities and num_tokens.")
    private boolean json;

    @Override
    public Integer call() throws Exception {
        final List<String> inputs = new ArrayList<>(texts);
        for (final Path f : files) {
            inputs.add(Files.readString(f, StandardCharsets.UTF_8));
        }
        if (texts.isEmpty() && files.isEmpty()) {
            final BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            stdin.lines().filter(l -> !l.isBlank()).forEach(inputs::add);
        }
        if (inputs.isEmpty()) {
            throw new IllegalArgumentException("No text to classify: give it as an argument, with --file, or on"
                    + " standard input");
        }
        final Path dir = model != null ? model : DefaultModel.directory();
        try (InferenceModel m = InferenceModel.load(dir, model != null ? dir.toAbsolutePath().normalize()
                .getFileName().toString() : DefaultModel.NAME, EngineSettings.of(engine, 0));
                TextTokenizer tokenizer = TextTokenizer.load(dir, TextTokenizer.length(dir, maxLength))) {
            final List<ValidInput> encoded = new ArrayList<>();
            for (int i = 0; i < inputs.size(); i++) {
                try {
                    encoded.add(m.validate(EncoderInput.of(tokenizer.encode(inputs.get(i)))));
                } catch (InvalidInputException e) {
                    throw new IllegalArgumentException((inputs.size() == 1 ? "The text" : "Text " + (i + 1) + " of "
                            + inputs.size()) + " (\"" + Excerpt.of(inputs.get(i)) + "\") cannot be classified: "
                            + e.getMessage(), e);
                }
            }
            final ExitPolicy policy = exit != null ? ExitPolicy.parse(exit) : m.exitPolicy();
            final boolean exits = policy.kind() != ExitPolicy.Kind.NONE;
            final List<ModelOutput> outputs = new ArrayList<>();
            final List<Integer> layers = new ArrayList<>();
            for (final ValidInput in : encoded) {
                // One at a time: texts differ in length, and a padded batch is slower than its parts.
                if (exits) {
                    final InferenceModel.Exit e = m.predict(List.of(in.input()), policy).get(0);
                    outputs.add(e.output());
                    layers.add(e.layers());
                } else {
                    outputs.addAll(m.run(List.of(in)));
                }
            }
            final List<String> labels = m.config().labels();
            final Gson gson = new Gson();
            if (!json) {
                System.out.printf(Locale.ROOT, "%-8s %s  %s%s%n", "label", String.join("  ", labels.stream()
                        .map(l -> String.format(Locale.ROOT, "p(%s)", l)).toList()), exits ? "layers  " : "", "text");
            }
            for (int i = 0; i < inputs.size(); i++) {
                final ModelOutput o = outputs.get(i);
                if (json) {
                    final Map<String, Object> line = new LinkedHashMap<>();
                    line.put("text", Excerpt.of(inputs.get(i), JSON_TEXT_CHARS));
                    line.put("label", labels.get(o.argmax()));
                    final Map<String, Float> p = new LinkedHashMap<>();
                    for (int k = 0; k < labels.size(); k++) {
                        p.put(labels.get(k), o.probabilities()[k]);
                    }
                    line.put("probabilities", p);
                    line.put("num_tokens", encoded.get(i).input().length());
                    if (exits) {
                        line.put("layers", layers.get(i));
                    }
                    System.out.println(gson.toJson(line));
                } else {
                    final StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "%-8s", labels.get(o.argmax())));
                    for (int k = 0; k < labels.size(); k++) {
                        row.append(String.format(Locale.ROOT, " %" + (labels.get(k).length() + 3) + ".4f",
                                o.probabilities()[k]));
                    }
                    if (exits) {
                        row.append(String.format(Locale.ROOT, "  %6d", layers.get(i)));
                    }
                    System.out.println(row + "  " + Excerpt.of(inputs.get(i)));
                }
            }
        }
        return 0;
    }

}
