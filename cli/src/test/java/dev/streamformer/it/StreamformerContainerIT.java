package dev.streamformer.it;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.kafka.KafkaContainer;

/**
 * The same flow against Kafka in a container (the official apache/kafka image). Runs where a
 * Docker engine exists; elsewhere it is skipped and says why on the console.
 */
@Tag("integration")
class StreamformerContainerIT {

    @TempDir
    Path tmp;

    @Test
    @Timeout(300)
    void predictsEveryValidRequestOnceAgainstAContainerBroker() throws Exception {
        boolean docker;
        try {
            docker = DockerClientFactory.instance().isDockerAvailable();
        } catch (RuntimeException | java.util.ServiceConfigurationError e) {
            // Testcontainers throws rather than answering false on some machines without Docker.
            docker = false;
        }
        if (!docker) {
            System.err.println("StreamformerContainerIT skipped: no Docker engine on this machine (it runs the"
                    + " exactly-once flow against the apache/kafka image wherever Docker runs)");
        }
        assumeTrue(docker, "no Docker engine on this machine");
        try (KafkaContainer kafka = new KafkaContainer("apache/kafka:4.4.0")
                .withEnv("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
                .withEnv("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1")) {
            kafka.start();
            new ExactlyOnceFlow(kafka.getBootstrapServers(), tmp).run();
        }
    }
}
