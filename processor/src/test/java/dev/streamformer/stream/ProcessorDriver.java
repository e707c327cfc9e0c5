package dev.streamformer.stream;

import java.util.Properties;

import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;

import dev.streamformer.schemas.DeadLetter;
import dev.streamformer.schemas.LatencyEvent;
import dev.streamformer.schemas.Prediction;
import dev.streamformer.schemas.serde.StreamformerSerdes;

/**
 * The processor's topology on a TopologyTestDriver, with its request topic and its three outputs.
 *
 * @param driver the driver; close it
 * @param requests raw request bytes in
 * @param predictions predictions out
 * @param latency latency events out
 * @param deadLetters dead letters out
 */
record ProcessorDriver(TopologyTestDriver driver, TestInputTopic<byte[], byte[]> requests,
        TestOutputTopic<String, Prediction> predictions, TestOutputTopic<String, LatencyEvent> latency,
        TestOutputTopic<byte[], DeadLetter> deadLetters) implements AutoCloseable {

    /**
     * @param props the processor's properties (application id, bootstrap servers, streamformer.* keys)
     * @param registry where the processor borrows the model from
     * @return the driver of {@link StreamformerTopology#build}
     */
    static ProcessorDriver start(final Properties props, final ModelRegistry registry) {
        return start(props, new ModelCatalog(new StreamformerConfig(props), registry, ServingMetrics.disabled()));
    }

    /**
     * @param props the processor's properties
     * @param catalog the versions to serve, which the test may change while the driver runs
     * @return the driver of {@link StreamformerTopology#build(StreamformerAppConfig, ModelCatalog)}
     */
    static ProcessorDriver start(final Properties props, final ModelCatalog catalog) {
        final StreamformerAppConfig config = new StreamformerAppConfig(props);
        final TopologyTestDriver driver = new TopologyTestDriver(StreamformerTopology.build(config, catalog), props);
        return new ProcessorDriver(driver,
                driver.createInputTopic(config.requestsTopic(), new ByteArraySerializer(), new ByteArraySerializer()),
                driver.createOutputTopic(config.predictionsTopic(), new StringDeserializer(), StreamformerSerdes.prediction()),
                driver.createOutputTopic(config.latencyTopic(), new StringDeserializer(), StreamformerSerdes.latencyEvent()),
                driver.createOutputTopic(config.deadLettersTopic(), new ByteArrayDeserializer(),
                        StreamformerSerdes.deadLetter()));
    }

    @Override
    public void close() {
        driver.close();
    }
}
