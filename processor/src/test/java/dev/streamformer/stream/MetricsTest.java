package dev.streamformer.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import dev.streamformer.Promtool;
import dev.streamformer.model.Activation;
import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.ModelConfig;
import dev.streamformer.model.ParameterStats;
import dev.streamformer.model.SharingPlan;
import dev.streamformer.schemas.TokenizedInput;
import dev.streamformer.schemas.serde.StreamformerSerdes;

/** The processor's Prometheus metrics after a known mix of requests, checked by promtool too. */
class MetricsTest {

    @TempDir
    static Path modelDir;

    @BeforeAll
    static void writeModel() throws Exception {
        Checkpoint.random(new ModelConfig(200, 16, 32, 4, 4, 4, 64, 32, 2, Activation.GELU_NEW, 1e-12, true,
                SharingPlan.ALL, List.of("ham", "spam")), 3).save(modelDir);
    }

    @Test
    void countersAndHistogramsMatchTheRequestsAndTheModelInfoCarriesTheSharingRatio() throws Exception {
        final PrometheusMeterRegistry prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        final Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "metrics-test");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        props.put(StreamformerConfig.MODEL_DIR_CONFIG, modelDir.toString());
        props.put(StreamformerConfig.BATCH_SIZE_CONFIG, "4");
        props.put(StreamformerConfig.BATCH_MAX_WAIT_MS_CONFIG, "60000");
        final ModelRegistry registry = new ModelRegistry();
        final String text;
        try (TopologyTestDriver driver = new TopologyTestDriver(StreamformerTopology.build(new StreamformerAppConfig(props),
                new ModelCatalog(new StreamformerConfig(props), registry, new ServingMetrics(prometheus))), props)) {
            final TestInputTopic<byte[], byte[]> in = driver.createInputTopic("streamformer-requests",
                    new ByteArraySerializer(), new ByteArraySerializer());
            for (int i = 0; i < 9; i++) {
                in.pipeInput(("v-" + i).getBytes(), request("v-" + i, 2, 10 + i, 3));
            }
            in.pipeInput("bad-1".getBytes(), request("bad-1", 2, 999, 3));
            in.pipeInput("bad-2".getBytes(), request("", 2, 5, 3));
            in.pipeInput("junk".getBytes(), new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
            text = prometheus.scrape();
        }
        // 9 valid requests in batches of 4: two full batches served, one request still buffered.
        final String labels = "engine=\"onnxruntime\",model=\"" + modelDir.getFileName() + "\"";
        assertThat(value(text, "streamformer_requests_total", labels)).isEqualTo(12);
        assertThat(value(text, "streamformer_predictions_total", labels)).isEqualTo(8);
        assertThat(value(text, "streamformer_dead_letters_total", "kind=\"VALIDATION\"")).isEqualTo(2);
        assertThat(value(text, "streamformer_dead_letters_total", "kind=\"DESERIALIZATION\"")).isEqualTo(1);
        assertThat(value(text, "streamformer_dead_letters_total", "kind=\"INFERENCE\"")).isZero();
        assertThat(value(text, "streamformer_forward_passes_total", labels)).isEqualTo(2);
        assertThat(value(text, "streamformer_batch_size_count", labels)).isEqualTo(2);
        assertThat(value(text, "streamformer_batch_size_sum", labels)).isEqualTo(8);
        assertThat(value(text, "streamformer_batch_size_bucket", "le=\"4.0\"")).isEqualTo(2);
        for (final String timer : List.of("inference", "batch_wait", "processing", "end_to_end")) {
            assertThat(value(text, "streamformer_" + timer + "_seconds_count", labels)).as(timer).isEqualTo(8);
            assertThat(value(text, "streamformer_" + timer + "_seconds_bucket", "le=\"+Inf\"")).as(timer).isEqualTo(8);
        }
        assertThat(value(text, "streamformer_batch_buffered_requests", labels)).isEqualTo(1);
        assertThat(value(text, "streamformer_gate_waiting_passes", labels)).isZero();
        final ParameterStats stats = ParameterStats.of(Checkpoint.load(modelDir));
        assertThat(value(text, "streamformer_model_sharing_ratio", labels)).isCloseTo(stats.sharingRatio(), within(1e-9));
        assertThat(stats.sharingRatio()).as("4 layers, all shared").isGreaterThan(1.5);
        assertThat(value(text, "streamformer_model_parameters", "kind=\"unique\"")).isEqualTo((double) stats.uniqueParameters());
        assertThat(value(text, "streamformer_model_parameters", "kind=\"logical\"")).isEqualTo((double) stats.logicalParameters());
        assertThat(value(text, "streamformer_model_info", "plan=\"" + stats.plan() + "\"")).isEqualTo(1);
        assertThat(value(text, "streamformer_model_bytes", "dtype=\"F32\"")).isEqualTo((double) stats.bytesByDtype().get("F32"));
        Promtool.assertAccepts(text);

        // The compose cluster's Prometheus rules use only names this scrape has.
        final String rules = java.nio.file.Files.readString(Path.of("..", "docker", "streamformer-rules.yml"));
        final Matcher used = Pattern.compile("\\bstreamformer_[a-z_]+").matcher(rules);
        while (used.find()) {
            assertThat(text).as("metric %s of docker/streamformer-rules.yml", used.group()).contains(used.group() + "{");
        }
        Promtool.assertCommand("check", "config", Path.of("..", "docker", "prometheus.yml").toString());

        // The alert rules too, and each alert fires on the synthetic series of its unit test.
        final Path alerts = Path.of("..", "deploy", "prometheus", "streamformer-alerts.yml");
        final Matcher alerted = Pattern.compile("\\bstreamformer_[a-z_]+").matcher(java.nio.file.Files.readString(alerts));
        while (alerted.find()) {
            final String name = alerted.group().replaceAll("_(bucket|count|sum)$", "");
            assertThat(text).as("metric %s of %s", alerted.group(), alerts).contains(name);
        }
        Promtool.assertCommand("check", "rules", alerts.toString());
        Promtool.assertCommand("test", "rules", Path.of("..", "deploy", "prometheus", "streamformer-alerts.test.yml")
                .toString());
    }

    /** The value of the one sample of {@code name} whose labels contain {@code containing}. */
    private static double value(final String text, final String name, final String containing) {
        final Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + "\\{([^}]*)\\} (\\S+)$").matcher(text);
        Double found = null;
        while (m.find()) {
            if (m.group(1).contains(containing)) {
                assertThat(found).as("one sample of %s{%s}", name, containing).isNull();
                found = Double.parseDouble(m.group(2));
            }
        }
        assertThat(found).as("sample %s{%s} in%n%s", name, containing, text).isNotNull();
        return found;
    }

    private static byte[] request(final String id, final Integer... ids) {
        return StreamformerSerdes.tokenizedInput().serialize("t", TokenizedInput.newBuilder().setRequestId(id)
                .setTokenIds(List.of(ids)).setCreatedAt(Instant.ofEpochMilli(1_000)).setMetadata(Map.of()).build());
    }
}
