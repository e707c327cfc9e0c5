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
            "For trying Streamformer without a Kafka cluster; data persist in --data-dir across restarts.",
            "With --voters it is one node of a cluster instead (each node its own process, data directory and"
                + " ports): replication 3 and min.insync.replicas 2 for new and internal topics, e.g.",
            "  streamformer broker --node-id 1 --port 19092 --data-dir k1 --voters"
                + " 1@localhost:19093,2@localhost:29093,3@localhost:39093",
            "and the same with --node-id 2 --port 29092 and --node-id 3 --port 39092."})
final class BrokerCommand implements Callable<Integer> {

    @Option(names = "--port", defaultValue = "9092", description = "Client port (default: ${DEFAULT-VALUE}).")
    private int port;

    @Option(names = "--data-dir", defaultValue = "data/kafka", description = "Log directory (default: ${DEFAULT-VALUE}).")
    private Path dataDir;

    @Option(names = "--node-id", defaultValue = "1", description = "This node's id in --voters (default: ${DEFAULT-VALUE}).")
    private int nodeId;

    @Option(names = "--voters", paramLabel = "<id@host:port,...>",
            description = "Every node of the cluster as id@host:controller-port, comma-separated; this node's"
                    + " controller listens on its own entry's port. Without it: a single node.")
    private String voters;

    @Override
    public Integer call() throws Exception {
        final EmbeddedKafka kafka = voters == null ? EmbeddedKafka.start(dataDir, port, Map.of())
                : EmbeddedKafka.startNode(dataDir, nodeId, port, voters);
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
