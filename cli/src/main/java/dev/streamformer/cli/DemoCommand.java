package dev.streamformer.cli;

import java.time.Duration;
import java.util.concurrent.Callable;

import dev.streamformer.demo.Demo;
import dev.streamformer.model.InferenceEngine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code streamformer demo}. */
@Command(name = "demo",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {"Run everything in one process: a Kafka broker (KRaft, in-process), the topics, the shipped model,"
                + " requests tokenized from the bundled held-out e-mails, the processor, then a report of predictions,"
                + " accuracy and latency. No Docker, no network."})
final class DemoCommand implements Callable<Integer> {

    @Option(names = "--requests", defaultValue = "1000", description = "Requests to produce (default: ${DEFAULT-VALUE}).")
    private int requests;

    @Option(names = "--stream-threads", defaultValue = "2", description = "Stream threads (default: ${DEFAULT-VALUE}).")
    private int streamThreads;

    @Option(names = "--intra-op-threads", defaultValue = "1",
            description = "Threads of one forward pass (default: ${DEFAULT-VALUE}).")
    private int intraOpThreads;

    @Option(names = "--engine", defaultValue = "onnxruntime", converter = EngineOption.class,
            description = "Engine of the forward pass: onnxruntime or pytorch (default: ${DEFAULT-VALUE}).")
    private InferenceEngine engine;

    @Option(names = "--max-length", paramLabel = "<tokens>", defaultValue = "0",
            description = "Tokens per request; 0 = the shipped model's input length, 128 (default: ${DEFAULT-VALUE}).")
    private int maxLength;

    @Option(names = "--partitions", defaultValue = "4", description = "Request topic partitions (default: ${DEFAULT-VALUE}).")
    private int partitions;

    @Option(names = "--show", defaultValue = "10", description = "Predictions to print (default: ${DEFAULT-VALUE}).")
    private int show;

    @Option(names = "--exit", paramLabel = "<policy>",
            description = "Exit policy of a model with exit heads: none, confidence:<p> or patience:<t> (default: the"
                    + " model's own, config.json streamformer.exit_policy).")
    private String exit;

    @Option(names = "--timeout", defaultValue = "300", description = "Seconds to wait for all predictions (default: ${DEFAULT-VALUE}).")
    private int timeout;

    @Override
    public Integer call() throws Exception {
        final Demo.Result result = Demo.run(new Demo.Settings(requests, streamThreads, intraOpThreads, engine, maxLength,
                partitions, show, Duration.ofSeconds(timeout), exit), System.out);
        if (result.predicted() < result.produced()) {
            System.err.printf("error: only %d of %d predictions arrived within %d s%n", result.predicted(),
                    result.produced(), timeout);
            return 1;
        }
        return 0;
    }
}
