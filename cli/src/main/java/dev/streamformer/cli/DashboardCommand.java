package dev.streamformer.cli;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

import org.apache.kafka.streams.StreamsConfig;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import dev.streamformer.stream.StreamformerConfig;
import dev.streamformer.monitor.Dashboard;

/** {@code streamformer dashboard}. */
@Command(name = "dashboard",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {"Serve a live dashboard page until Ctrl-C: records/s, latency percentiles by component, batch"
                + " sizes and dead letters by kind per model version (from the statistics topic that `streamformer stats`"
                + " writes), the processors' consumer lag, and the models' sharing ratio, parameters and size (from"
                + " --metrics). Everything is bundled: the page fetches nothing from the internet."})
final class DashboardCommand implements Callable<Integer> {

    @Mixin
    private KafkaOptions kafka;

    @Option(names = "--port", defaultValue = "8090", paramLabel = "<port>",
            description = "Port of the page, 0 for any free one (default: ${DEFAULT-VALUE}).")
    private int port;

    @Option(names = "--bind", defaultValue = "127.0.0.1", paramLabel = "<address>",
            description = "Address to listen on; 0.0.0.0 for every interface (default: ${DEFAULT-VALUE}).")
    private String bind;

    @Option(names = "--metrics", paramLabel = "<url>",
            description = "A processor's metrics URL, for example http://localhost:8080/metrics (repeatable).")
    private List<URI> metrics = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        final Properties all = kafka.connect();
        final String applicationId = all.getProperty(StreamsConfig.APPLICATION_ID_CONFIG, "streamformer");
        final CountDownLatch done = new CountDownLatch(1);
        final Dashboard dashboard = Dashboard.start(bind, port, new Dashboard.Sources(StreamformerConfig.kafkaOnly(all),
                TopicKind.STATS.topic(all), TopicKind.REQUESTS.topic(all), applicationId, metrics));
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            dashboard.close();
            done.countDown();
        }, "streamformer-dashboard-shutdown"));
        System.err.printf("dashboard on http://%s:%d/ (statistics of %s, lag of group %s); Ctrl-C to stop%n",
                bind, dashboard.port(), TopicKind.STATS.topic(all), applicationId);
        done.await();
        return 0;
    }
}
