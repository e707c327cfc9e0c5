package dev.streamformer.cli;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import com.google.gson.Gson;

import dev.streamformer.model.DefaultModel;
import dev.streamformer.model.EncoderInput;
import dev.streamformer.model.EngineSettings;
import dev.streamformer.model.ExitHeads;
import dev.streamformer.model.ExitPolicy;
import dev.streamformer.model.InferenceEngine;
import dev.streamformer.model.InferenceModel;
import dev.streamformer.model.InvalidInputException;
import dev.streamformer.model.ModelOutput;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code streamformer model predict}. */
@Command(name = "predict",
        mixinStandardHelpOptions = true,
        description = {"Run token-id lists through a model and print one JSON line per input.",
            "Input: one sequence per line, ids separated by commas (e.g. 2,1034,87,3); blank lines and lines"
                + " starting with # are skipped. A bad line is reported on standard error with its line number;"
                + " the others are still predicted and the exit code is 1."})
final class ModelPredictCommand implements Callable<Integer> {

    @Option(names = "--model", paramLabel = "<dir>", description = "Model directory (default: the shipped model).")
    private Path model;

    @Option(names = "--input", paramLabel = "<file>",
            description = "File of token-id lines (default: standard input).")
    private Path input;

    @Option(names = "--logits", description = "Print raw logits instead of probabilities.")
    private boolean logits;

    @Option(names = "--batch-size", defaultValue = "16", description = "Sequences per forward pass (default: ${DEFAULT-VALUE}).")
    private int batchSize;

    @Option(names = "--threads", defaultValue = "0",
            description = "Intra-op threads for the forward pass; 0 = engine default (default: ${DEFAULT-VALUE}).")
    private int threads;

    @Option(names = "--engine", defaultValue = "onnxruntime", converter = EngineOption.class,
            description = "Engine of the forward pass: onnxruntime or pytorch (default: ${DEFAULT-VALUE}).")
    private InferenceEngine engine;

    @Option(names = "--exit", paramLabel = "<policy>",
            description = "Exit policy of a model with exit heads: none, confidence:<p> or patience:<t>; each line then"
                    + " reports the layers it ran (default: the model's streamformer.exit_policy, else none).")
    private String exit;

    private final Gson gson = new Gson();
    private ExitPolicy policy = ExitPolicy.NONE;

    @Override
    public Integer call() throws Exception {
        if (batchSize < 1) {
            throw new IllegalArgumentException("--batch-size must be at least 1");
        }
        int failures = 0;
        try (InferenceModel m = model == null ? DefaultModel.load(EngineSettings.of(engine, threads))
                : InferenceModel.load(model, EngineSettings.of(engine, threads));
                BufferedReader reader = input == null
                        ? new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))
                        : Files.newBufferedReader(input, StandardCharsets.UTF_8)) {
            policy = exit != null ? ExitPolicy.parse(exit) : m.exitPolicy();
            if (policy.kind() != ExitPolicy.Kind.NONE && m.config().exits() == ExitHeads.NONE) {
                throw new IllegalArgumentException("model " + m.name() + " has no exit heads, so it cannot leave early"
                        + " (--exit " + policy + "): finetune it with --exits shared or --exits per-layer");
            }
            final List<EncoderInput> batch = new ArrayList<>();
            final List<Integer> lineNumbers = new ArrayList<>();
            String line;
            int number = 0;
            while ((line = reader.readLine()) != null) {
                number++;
                final String text = line.strip();
                if (text.isEmpty() || text.startsWith("#")) {
                    continue;
                }
                try {
                    batch.add(EncoderInput.of(TokenIdLine.parse(text, "line " + number)));
                    lineNumbers.add(number);
                } catch (IllegalArgumentException e) {
                    System.err.println(e.getMessage());
                    failures++;
                }
                if (batch.size() == batchSize) {
                    failures += flush(m, batch, lineNumbers);
                }
            }
            failures += flush(m, batch, lineNumbers);
        }
        return failures == 0 ? 0 : 1;
    }

    private int flush(final InferenceModel m, final List<EncoderInput> batch, final List<Integer> lines) {
        if (batch.isEmpty()) {
            return 0;
        }
        int failures = 0;
        final PrintStream out = System.out;
        try {
            final List<InferenceModel.Exit> outputs = m.predict(batch, policy);
            for (int i = 0; i < outputs.size(); i++) {
                out.println(gson.toJson(render(m, lines.get(i), outputs.get(i))));
            }
        } catch (InvalidInputException e) {
            // Predict one by one so a single bad line does not hide the others.
            for (int i = 0; i < batch.size(); i++) {
                try {
                    out.println(gson.toJson(render(m, lines.get(i), m.predict(List.of(batch.get(i)), policy).get(0))));
                } catch (InvalidInputException bad) {
                    System.err.printf("line %d: %s%n", lines.get(i), bad.getMessage().replaceFirst("^sequence 0: ", ""));
                    failures++;
                }
            }
        }
        batch.clear();
        lines.clear();
        return failures;
    }

    private Map<String, Object> render(final InferenceModel m, final int line, final InferenceModel.Exit exited) {
        final ModelOutput o = exited.output();
        final Map<String, Object> json = new LinkedHashMap<>();
        json.put("line", line);
        if (logits) {
            json.put("logits", o.logits());
        } else {
            final List<String> labels = m.config().labels();
            json.put("label", labels.get(o.argmax()));
            json.put("probabilities", o.byLabel(labels));
        }
        if (policy.kind() != ExitPolicy.Kind.NONE) {
            json.put("layers", exited.layers());
        }
        return json;
    }
}
