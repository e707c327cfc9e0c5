package dev.streamformer.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

import dev.streamformer.bench.ExitBenchmark;
import dev.streamformer.bench.ModelBenchmark;
import dev.streamformer.bench.stream.BenchSuites;
import dev.streamformer.bench.stream.FormatsBenchmark;
import dev.streamformer.bench.stream.MemoryBenchmark;
import dev.streamformer.model.EngineSettings;
import dev.streamformer.model.InferenceModel;
import dev.streamformer.stream.StreamformerConfig;
import dev.streamformer.kafka.internals.BrokerCheck;
import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.DefaultModel;
import dev.streamformer.model.ExitPolicy;
import dev.streamformer.model.InferenceEngine;
import dev.streamformer.model.ModelConfig;
import dev.streamformer.testkit.EmbeddedKafka;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code streamformer bench}: benchmarks that print figures (never timed tests). */
@Command(name = "bench",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {"Measure performance in one process, print tables and the target ratios, and write bench.json"
                + " (every figure and setting) and PNG charts to --out.",
            "Suites:",
            "  model     the forward pass on both engines (onnxruntime, pytorch) beside both fp32 matmul ceilings"
                + " (ONNX Runtime's MLAS, PyTorch's sgemm), timed in alternation, in the serving layout (cores /"
                + " --threads callers) and with one caller on every core; length buckets; baseline b (the same"
                + " dimensions, no sharing); resident memory of each engine, with ONNX Runtime's weight prepacking on"
                + " and off",
            "  pipeline  records/s through a broker with outputs committed (exactly_once_v2) beside the model alone"
                + " with the same threads and batch; batch sweep; 1 vs 2 stream threads; baseline a (record-at-a-time,"
                + " a model copy per task); latency at a paced load of half the maximum; with a model with exit heads,"
                + " also real mail at full depth (one graph, layered) and under the exit policy (batches that shrink, and depth-wise refill from a pool of twice the batch), in alternation",
            "  memory    resident memory of a processor JVM by stream threads, shared model vs a copy per task",
            "  exits     a model with exit heads (--model) on real mail: the single graph at full depth, the"
                + " layer-by-layer engine at full depth and under an exit policy (--exit, default the model's) with"
                + " batches that shrink and with depth-wise refill, timed in alternation, with the mean layers run;"
                + " not part of all",
            "  formats   the pipeline with requests in and outputs out in each wire format (Avro single-object, a"
                + " schema registry's framing, JSON), in alternation, with each one's ratio to single-object; needs"
                + " --registry-url; not part of all",
            "  tracing   the pipeline with tracing off and on (every request sampled, exported to --tracing-endpoint, a Zipkin"
                + " server's /api/v2/spans) in alternation; not part of all",
            "  all       every suite",
            "Without --bootstrap-servers the pipeline and memory suites start an in-process KRaft broker.",
            "Run on an otherwise idle machine; 'all' takes about 20 minutes on 2 cores."})
final class BenchCommand implements Callable<Integer> {

    @Parameters(index = "0", defaultValue = "model", paramLabel = "<suite>",
            description = "model, pipeline, memory, exits, formats or all (default: ${DEFAULT-VALUE}).")
    private String suite;

    @Option(names = "--registry-url", paramLabel = "<url>",
            description = "The schema registry of the formats suite: its Confluent-compatible API (Apicurio:"
                    + " http://host:8080/apis/ccompat/v7).")
    private String registryUrl;

    @Option(names = "--tracing-endpoint", paramLabel = "<url>",
            description = "The Zipkin span endpoint of the tracing suite (http://host:9411/api/v2/spans).")
    private String tracingEndpoint;

    @Option(names = "--exit", paramLabel = "<policy>",
            description = "Exit policy of the exits suite and of the pipeline's early-exit runs (a model with exit"
                    + " heads): confidence:<p> or patience:<t> (default: the model's streamformer.exit_policy).")
    private String exit;

    @Option(names = "--model", paramLabel = "<dir>", description = "Model directory (default: the shipped default model).")
    private Path model;

    @Option(names = "--config", paramLabel = "<config.json>",
            description = "Benchmark a seeded random model of this architecture instead of a model directory.")
    private Path config;

    @Option(names = {"-b", "--bootstrap-servers"}, paramLabel = "<host:port>",
            description = "An existing broker for the pipeline and memory suites (default: start one in-process).")
    private String bootstrap;

    @Option(names = "--threads", defaultValue = "1",
            description = "Intra-op threads per caller in the model suite's serving layout (cores / this callers);"
                    + " the suite also runs one caller on every core (default: ${DEFAULT-VALUE}).")
    private int threads;

    @Option(names = "--engine", defaultValue = "onnxruntime", converter = EngineOption.class,
            description = "Engine of the pipeline and memory suites; the model suite runs both (default:"
                    + " ${DEFAULT-VALUE}).")
    private InferenceEngine engine;

    @Option(names = "--batches", split = ",", defaultValue = "1,8,32",
            description = "Batch sizes of the model suite and of the pipeline batch sweep (default: ${DEFAULT-VALUE}).")
    private List<Integer> batches;

    @Option(names = "--length", defaultValue = "128", description = "Tokens per request (default: ${DEFAULT-VALUE}).")
    private int length;

    @Option(names = "--repetitions", defaultValue = "7",
            description = "Timed runs per model-suite figure after 3 warm-up runs; the median is reported"
                    + " (default: ${DEFAULT-VALUE}).")
    private int repetitions;

    @Option(names = "--records", defaultValue = "1200",
            description = "Requests per saturated pipeline run (default: ${DEFAULT-VALUE}).")
    private int records;

    @Option(names = "--paced-records", defaultValue = "500",
            description = "Requests of the paced pipeline run (default: ${DEFAULT-VALUE}).")
    private int pacedRecords;

    @Option(names = "--max-wait-ms", defaultValue = "20",
            description = "streamformer.batch.max.wait.ms of every pipeline run (default: ${DEFAULT-VALUE}).")
    private long maxWaitMs;

    @Option(names = "--memory-threads", split = ",", defaultValue = "1,2,4,8",
            description = "Stream thread counts of the memory suite (default: ${DEFAULT-VALUE}).")
    private List<Integer> memoryThreads;

    @Option(names = "--model-only-seconds", defaultValue = "8",
            description = "How long each pipeline run's model-only figure is measured (default: ${DEFAULT-VALUE}).")
    private int modelOnlySeconds;

    @Option(names = "--pipeline-repetitions", defaultValue = "3",
            description = "How often the default and the one-stream-thread pipeline runs are repeated, alternating;"
                    + " their ratios are the medians, with the spread (default: ${DEFAULT-VALUE}).")
    private int pipelineRepetitions;

    @Option(names = "--malloc", defaultValue = MemoryBenchmark.GLIBC_MALLOC, paramLabel = "<NAME=value ...>",
            description = "Allocator environment of the memory suite's processor JVMs, NAME=value separated by spaces,"
                    + " for example LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 MALLOC_CONF=narenas:2;"
                    + " '' for glibc's defaults (default: ${DEFAULT-VALUE}, as the Dockerfile sets).")
    private String malloc;

    @Option(names = "--processor-property", paramLabel = "<key=value>",
            description = {"A processor property (Kafka Streams, client or streamformer.* key) set over the defaults in"
                    + " every pipeline run, e.g. commit.interval.ms=100; repeatable. The previous-default run keeps its"
                    + " own 100 ms commit interval."})
    private Map<String, String> processorProperties = new java.util.LinkedHashMap<>();

    @Option(names = "--out", defaultValue = "bench-results", paramLabel = "<dir>",
            description = "Where bench.json and the charts go (default: ${DEFAULT-VALUE}).")
    private Path out;

    @Override
    public Integer call() throws Exception {
        final String s = suite.toLowerCase(Locale.ROOT);
        if (!List.of("model", "pipeline", "memory", "exits", "formats", "tracing", "all").contains(s)) {
            throw new IllegalArgumentException("Unknown suite '" + suite
                    + "': use model, pipeline, memory, exits, formats, tracing or all");
        }
        if ("exits".equals(s)) {
            return exits();
        }
        if ("formats".equals(s) || "tracing".equals(s)) {
            return formats("tracing".equals(s));
        }
        final boolean all = "all".equals(s);
        final BenchSuites.Plan plan = new BenchSuites.Plan(all || "model".equals(s), all || "pipeline".equals(s),
                all || "memory".equals(s), threads, batches, length, repetitions, records, pacedRecords, maxWaitMs,
                memoryThreads, modelOnlySeconds, malloc, pipelineRepetitions, engine, withExit(processorProperties));
        if (pipelineRepetitions < 1) {
            throw new IllegalArgumentException("--pipeline-repetitions must be at least 1");
        }
        MemoryBenchmark.parseEnvironment(plan.malloc());
        final Path work = Files.createTempDirectory("streamformer-bench-");
        try {
            final Path modelDir = modelDirectory(work);
            final BenchSuites suites = new BenchSuites(plan, modelDir, work, System.out);
            if (!plan.pipeline() && !plan.memory()) {
                suites.run(null, out);
            } else if (bootstrap != null) {
                final java.util.Properties client = new java.util.Properties();
                client.put("bootstrap.servers", bootstrap);
                BrokerCheck.await(client, java.time.Duration.ofMillis(BrokerCheck.DEFAULT_TIMEOUT_MS));
                suites.run(bootstrap, out);
            } else {
                try (EmbeddedKafka kafka = EmbeddedKafka.start(work.resolve("kafka"), 0, Map.of())) {
                    System.out.printf("in-process KRaft broker on %s%n", kafka.bootstrapServers());
                    suites.run(kafka.bootstrapServers(), out);
                }
            }
        } finally {
            Files.walk(work).sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
        return 0;
    }

    private Map<String, String> withExit(final Map<String, String> properties) {
        if (exit == null) {
            return properties;
        }
        final Map<String, String> all = new java.util.LinkedHashMap<>(properties);
        all.put(StreamformerConfig.EXIT_POLICY_CONFIG, ExitPolicy.parse(exit).toString());
        return all;
    }

    private int formats(final boolean tracing) throws Exception {
        if (tracing && tracingEndpoint == null) {
            throw new IllegalArgumentException("the tracing suite needs a span endpoint: give --tracing-endpoint"
                    + " http://host:9411/api/v2/spans (a Zipkin server)");
        }
        if (!tracing && registryUrl == null) {
            throw new IllegalArgumentException("the formats suite needs a schema registry: give --registry-url (its"
                    + " Confluent-compatible API; README, \"Teams with a schema registry\", shows how to run one)");
        }
        final Path work = Files.createTempDirectory("streamformer-bench-");
        final Path modelDir = modelDirectory(work);
        try (InferenceModel m = InferenceModel.load(modelDir, EngineSettings.of(engine, 1))) {
            final FormatsBenchmark bench = new FormatsBenchmark(m, modelDir, work, System.out);
            final Map<String, Map<String, String>> arms = new java.util.LinkedHashMap<>();
            arms.put("tracing off", Map.of());
            arms.put("tracing on, every request, to zipkin", Map.of(StreamformerConfig.TRACING_EXPORTER_CONFIG,
                    "zipkin", StreamformerConfig.TRACING_ENDPOINT_CONFIG, tracingEndpoint == null ? ""
                            : tracingEndpoint, StreamformerConfig.TRACING_SAMPLING_CONFIG, "1.0"));
            try (EmbeddedKafka kafka = bootstrap != null ? null : EmbeddedKafka.start(work.resolve("kafka"), 0, Map.of())) {
                final String b = bootstrap != null ? bootstrap : kafka.bootstrapServers();
                if (tracing) {
                    bench.compare(b, "tracing", arms, records, pipelineRepetitions, length, out.resolve("bench-tracing.json"));
                } else {
                    bench.run(b, registryUrl, records, pipelineRepetitions, length, out);
                }
            }
        } finally {
            Files.walk(work).sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
        return 0;
    }

    private int exits() throws Exception {
        if (model == null) {
            throw new IllegalArgumentException("the exits suite measures a model with exit heads: give --model <dir>"
                    + " (model finetune --exits per-layer writes one)");
        }
        final ExitPolicy policy = exit != null ? ExitPolicy.parse(exit) : ExitPolicy.read(model);
        if (policy.kind() == ExitPolicy.Kind.NONE) {
            throw new IllegalArgumentException(model + " names no exit policy: give --exit confidence:<p> or"
                    + " patience:<t> (model exits chooses one)");
        }
        final int cores = Runtime.getRuntime().availableProcessors();
        final List<ModelBenchmark.Layout> layouts = cores == 1 ? List.of(new ModelBenchmark.Layout(1, 1))
                : List.of(new ModelBenchmark.Layout(cores, 1), new ModelBenchmark.Layout(1, cores));
        System.out.printf("== exits: %s under %s, ONNX Runtime, real mail (the bundled sample), all timed in"
                + " alternation; records/s%n%s%n", model, policy, ExitBenchmark.header());
        for (final ExitBenchmark.Row row : ExitBenchmark.run(model, policy, layouts, batches, repetitions)) {
            System.out.println(row.toLine());
        }
        return 0;
    }

    private Path modelDirectory(final Path work) throws Exception {
        if (config != null) {
            final Path dir = work.resolve("random-model");
            Checkpoint.random(ModelConfig.read(config), DefaultModel.SEED).save(dir);
            return dir;
        }
        return model != null ? model : DefaultModel.directory();
    }
}
