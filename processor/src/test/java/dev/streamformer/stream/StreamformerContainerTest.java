package dev.streamformer.stream;

import java.nio.file.Path;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;
import org.testcontainers.kafka.KafkaContainer;

/**
 * The same flow against Kafka in a container (the official apache/kafka image). Runs where a
 * Docker engine exists; elsewhere JUnit reports it skipped ("disabledWithoutDocker").
 */
@Tag("integration")
@Testcontainers(disabledWithoutDocker = true)
class StreamformerContainerTest {

    @Container
    private static final KafkaContainer KAFKA = new KafkaContainer("apache/kafka:4.4.0")
            .withEnv("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
            .withEnv("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1");

    @TempDir
    static Path tmp;

    @Test
    @Timeout(300)
    void predictsEveryValidRequestOnceAgainstAContainerBroker() throws Exception {
        new ExactlyOnceFlow(KAFKA.getBootstrapServers(), tmp).run();
    }
}
