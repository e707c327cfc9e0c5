package dev.streamformer.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.io.TempDir;

import dev.streamformer.kafka.EmbeddedKafka;

/** The processor against a real in-process KRaft broker, exactly_once_v2, 4 stream threads. */
@Tag("integration")
class StreamformerIntegrationTest {

    @TempDir
    static Path tmp;

    private static EmbeddedKafka kafka;

    @BeforeAll
    static void startBroker() throws Exception {
        kafka = EmbeddedKafka.start(tmp.resolve("kafka"), 0, Map.of());
    }

    @AfterAll
    static void stopBroker() {
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    @Timeout(300)
    void predictsEveryValidRequestOnceAndDeadLettersEveryBadOne() throws Exception {
        new ExactlyOnceFlow(kafka.bootstrapServers(), tmp).run();
    }

    @Test
    @Timeout(120)
    void healthEndpointIsReadyOnlyWhileRunningAndStopsWithTheProcessor() throws Exception {
        final Properties props = new Properties();
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "health-it");
        props.put(StreamsConfig.STATE_DIR_CONFIG, tmp.resolve("health-state").toString());
        props.put(StreamformerConfig.TOPIC_REQUESTS, "health-requests");
        props.put(StreamformerConfig.TOPIC_PREDICTIONS, "health-predictions");
        props.put(StreamformerConfig.TOPIC_LATENCY, "health-latency");
        props.put(StreamformerConfig.TOPIC_DEAD_LETTERS, "health-dead-letters");
        props.put(StreamformerConfig.HEALTH_PORT, "0");
        final HttpClient http = HttpClient.newHttpClient();
        final URI ready;
        final URI live;
        try (StreamformerApp app = StreamformerApp.start(props, new ModelRegistry())) {
            assertThat(app.healthPort()).isPositive();
            ready = URI.create("http://localhost:" + app.healthPort() + "/health/ready");
            live = URI.create("http://localhost:" + app.healthPort() + "/health/live");
            assertThat(app.awaitRunning(Duration.ofSeconds(60))).isTrue();
            final HttpResponse<String> r = http.send(HttpRequest.newBuilder(ready).build(), BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).contains("\"state\":\"RUNNING\"").contains("streamformer-default");
            assertThat(http.send(HttpRequest.newBuilder(live).build(), BodyHandlers.ofString()).statusCode())
                    .isEqualTo(200);
        }
        assertThatThrownBy(() -> http.send(HttpRequest.newBuilder(ready).build(), BodyHandlers.ofString()))
                .as("the endpoint stops with the processor").isInstanceOf(java.io.IOException.class);
    }
}
