package dev.streamformer.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import com.google.gson.GsonBuilder;

import dev.streamformer.bench.ModelBenchmark;
import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.DefaultModel;
import dev.streamformer.model.InferenceModel;
import dev.streamformer.model.ModelConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code streamformer bench}: benchmarks that print figures (never timed tests). */
@Command(name = "bench",
        mixinStandardHelpOptions = true,
        description = {"Measure performance and print a table; --json-out also writes every figure and setting.",
            "Suites: model = encoder forward GFLOP/s beside the fp32 matmul ceiling measured in the same run."})
final class BenchCommand implements Callable<Integer> {

    @Parameters(index = "0", defaultValue = "model", paramLabel = "<suite>",
            description = "Suite to run: model (default: ${DEFAULT-VALUE}).")
    private String suite;

    @Option(names = "--model", paramLabel = "<dir>", description = "Model directory (default: the shipped default model).")
    private Path model;

    @Option(names = "--config", paramLabel = "<config.json>",
            description = "Benchmark a seeded random model of this architecture instead of a model directory.")
    private Path config;

    @Option(names = "--threads", defaultValue = "2",
            description = "Intra-op threads for the matmul and the forward passes (default: ${DEFAULT-VALUE}).")
    private int threads;

    @Option(names = "--batches", split = ",", defaultValue = "1,8,32",
            description = "Batch sizes, comma separated (default: ${DEFAULT-VALUE}).")
    private List<Integer> batches;

    @Option(names = "--length", defaultValue = "128", description = "Tokens per sequence (default: ${DEFAULT-VALUE}).")
    private int length;

    @Option(names = "--repetitions", defaultValue = "7",
            description = "Timed runs per figure after 3 warm-up runs; the median is reported (default: ${DEFAULT-VALUE}).")
    private int repetitions;

    @Option(names = "--json-out", paramLabel = "<file>", description = "Also write the results as JSON.")
    private Path jsonOut;

    @Override
    public Integer call() throws Exception {
        if (!"model".equals(suite)) {
            throw new IllegalArgumentException("Unknown suite '" + suite + "'; available: model");
        }
        try (InferenceModel m = open()) {
            System.out.printf("model %s (%s), %,d unique parameters%n", m.name(), m.config().plan().describe(),
                    m.stats().uniqueParameters());
            final ModelBenchmark.Result result = ModelBenchmark.run(m, threads, batches, length, repetitions);
            System.out.print(result.toTable());
            if (jsonOut != null) {
                final Map<String, Object> json = new LinkedHashMap<>();
                json.put("suite", suite);
                json.put("model", m.name());
                json.put("model_version", m.version());
                json.put("plan", m.config().plan().describe());
                json.put("jvm", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
                json.put("cpus", Runtime.getRuntime().availableProcessors());
                json.put("results", result.toMap());
                Files.writeString(jsonOut, new GsonBuilder().setPrettyPrinting().create().toJson(json));
            }
        }
        return 0;
    }

    private InferenceModel open() throws Exception {
        if (config != null) {
            return new InferenceModel(config.getFileName().toString(), "random",
                    Checkpoint.random(ModelConfig.read(config), DefaultModel.SEED));
        }
        return model != null ? InferenceModel.load(model) : DefaultModel.load();
    }
}
