package dev.streamformer.cli;

import java.nio.file.Path;
import java.util.Properties;
import java.util.concurrent.Callable;

import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;

import dev.streamformer.model.InferenceEngine;
import dev.streamformer.stream.ModelRegistry;
import dev.streamformer.stream.StreamformerApp;
import dev.streamformer.stream.StreamformerAppConfig;
import dev.streamformer.stream.StreamformerConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code streamformer run}. */
@Command(name = "run",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {"Run the processor: read requests, write predictions, latency events and dead letters.",
            "Stops cleanly on Ctrl-C or SIGTERM (commits what it processed). Every option also has a properties key;"
                + " the README lists them all."})
final class RunCommand implements Callable<Integer> {

    @Mixin
    private KafkaOptions kafka;

    @Option(names = "--model", paramLabel = "<dir>", description = "Model directory (default: the shipped model).")
    private Path model;

    @Option(names = "--application-id", paramLabel = "<id>",
            description = "Kafka Streams application.id; instances with the same id share the work (default: streamformer).")
    private String applicationId;

    @Option(names = "--stream-threads", paramLabel = "<n>", description = "num.stream.threads (default: 2).")
    private Integer streamThreads;

    @Option(names = "--intra-op-threads", paramLabel = "<n>",
            description = "Threads of one forward pass, " + StreamformerConfig.INTRA_OP_THREADS_CONFIG + " (default: 1).")
    private Integer intraOpThreads;

    @Option(names = "--engine", paramLabel = "<engine>", converter = EngineOption.class,
            description = "Engine of the forward pass, " + StreamformerConfig.ENGINE_CONFIG
                    + ": onnxruntime or pytorch (default: onnxruntime).")
    private InferenceEngine engine;

    @Option(names = "--exit", paramLabel = "<policy>",
            description = "Exit policy of served models with exit heads, " + StreamformerConfig.EXIT_POLICY_CONFIG
                    + ": none, confidence:<p> or patience:<t> (default: each model's own).")
    private String exit;

    @Option(names = "--at-least-once", description = "processing.guarantee=at_least_once instead of exactly_once_v2.")
    private boolean atLeastOnce;

    @Option(names = "--requests-topic", paramLabel = "<topic>",
            description = "Request topic (default: streamformer-requests).")
    private String requestsTopic;

    @Option(names = "--predictions-topic", paramLabel = "<topic>",
            description = "Prediction topic (default: streamformer-predictions).")
    private String predictionsTopic;

    @Option(names = "--latency-topic", paramLabel = "<topic>",
            description = "Latency topic (default: streamformer-latency).")
    private String latencyTopic;

    @Option(names = "--dead-letter-topic", paramLabel = "<topic>",
            description = "Dead-letter topic (default: streamformer-dead-letters).")
    private String deadLetterTopic;

    @Option(names = "--no-create-topics", description = "Fail if a topic is missing instead of creating it.")
    private boolean noCreateTopics;

    @Option(names = "--health-port", paramLabel = "<port>",
            description = "Serve GET /health/live and /health/ready on this port (" + StreamformerAppConfig.HEALTH_PORT_CONFIG
                    + "; default: off).")
    private Integer healthPort;

    @Option(names = "--truncate", description = "Truncate too-long requests instead of dead-lettering them.")
    private boolean truncate;

    @Override
    public Integer call() throws Exception {
        final Properties props = kafka.properties();
        putIfGiven(props, StreamformerConfig.MODEL_DIR_CONFIG, model == null ? null : model.toString());
        putIfGiven(props, StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
        putIfGiven(props, StreamsConfig.NUM_STREAM_THREADS_CONFIG, streamThreads);
        putIfGiven(props, StreamformerConfig.INTRA_OP_THREADS_CONFIG, intraOpThreads);
        putIfGiven(props, StreamformerConfig.ENGINE_CONFIG, engine == null ? null : engine.configName());
        if (atLeastOnce) {
            props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.AT_LEAST_ONCE);
        }
        putIfGiven(props, StreamformerAppConfig.TOPIC_REQUESTS_CONFIG, requestsTopic);
        putIfGiven(props, StreamformerAppConfig.TOPIC_PREDICTIONS_CONFIG, predictionsTopic);
        putIfGiven(props, StreamformerAppConfig.TOPIC_LATENCY_CONFIG, latencyTopic);
        putIfGiven(props, StreamformerAppConfig.TOPIC_DEAD_LETTERS_CONFIG, deadLetterTopic);
        if (noCreateTopics) {
            props.put(StreamformerConfig.TOPICS_CREATE_CONFIG, "false");
        }
        putIfGiven(props, StreamformerAppConfig.HEALTH_PORT_CONFIG, healthPort);
        putIfGiven(props, StreamformerConfig.EXIT_POLICY_CONFIG, exit);
        if (truncate) {
            props.put(StreamformerConfig.TRUNCATE_CONFIG, "true");
        }
        final StreamformerApp app = StreamformerApp.start(props, ModelRegistry.shared());
        final Thread hook = new Thread(() -> {
            final long start = System.nanoTime();
            final boolean clean = app.close(app.shutdownTimeout());
            System.err.printf("streamformer: stopped %s in %d ms%n", clean ? "cleanly" : "after the shutdown timeout",
                    (System.nanoTime() - start) / 1_000_000);
            System.err.flush();
            // A JVM ended by a signal exits 143 even after a clean shutdown; say how it really went.
            Runtime.getRuntime().halt(clean ? 0 : 1);
        }, "streamformer-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        app.awaitStop();
        return app.state() == KafkaStreams.State.ERROR ? 1 : 0;
    }

    private static void putIfGiven(final Properties p, final String key, final Object value) {
        if (value != null) {
            p.put(key, value.toString());
        }
    }
}
