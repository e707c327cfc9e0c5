package dev.streamformer.cli;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

import dev.streamformer.testkit.EmbeddedKafka;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code streamformer broker}. */
@Command(name = "broker",
        mixinStandardHelpOptions = true,
        description = {"Run a single-node Kafka broker (KRaft, broker and controller in one) until Ctrl-C or SIGTERM.",
            "For trying Streamformer without a Kafka cluster; data persist in --data-dir across restarts."})
final class BrokerCommand implements Callable<Integer> {

    @Option(names = "--port", defaultValue = "9092", description = "Client port (default: ${DEFAULT-VALUE}).")
    private int port;

    @Option(names = "--data-dir", defaultValue = "data/kafka", description = "Log directory (default: ${DEFAULT-VALUE}).")
    private Path dataDir;

    @Override
    public Integer call() throws Exception {
        final EmbeddedKafka kafka = EmbeddedKafka.start(dataDir, port, Map.of());
        final CountDownLatch done = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            kafka.close();
            done.countDown();
        }, "broker-shutdown"));
        System.out.printf("Kafka broker running on %s (data in %s); Ctrl-C to stop%n", kafka.bootstrapServers(),
                dataDir.toAbsolutePath());
        done.await();
        return 0;
    }
}
