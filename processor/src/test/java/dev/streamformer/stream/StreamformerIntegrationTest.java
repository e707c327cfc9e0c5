package dev.streamformer.stream;

import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
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
}
