package dev.streamformer.stream;

import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.Topology;

import dev.streamformer.schemas.serde.StreamformerSerdes;

/**
 * The processor's topology: one source of raw request bytes, one inference processor, three
 * sinks.
 * <pre>
 *   requests (bytes) --> inference --> predictions   (key: request id, Prediction)
 *                                 \--> latency       (key: request id, LatencyEvent)
 *                                 \--> dead letters  (key: original key bytes, DeadLetter)
 * </pre>
 * Requests are read as bytes and decoded in the processor, so that undecodable records reach the
 * dead-letter topic with their original bytes instead of stopping the stream thread. With a batch
 * size above 1 the inference processor owns a changelogged store that buffers requests until
 * their batch runs.
 */
public final class StreamformerTopology {

    static final String SOURCE = "requests-source";
    static final String INFERENCE = "inference";
    static final String PREDICTIONS_SINK = "predictions-sink";
    static final String LATENCY_SINK = "latency-sink";
    static final String DEAD_LETTER_SINK = "dead-letter-sink";

    private StreamformerTopology() {
    }

    /**
     * Builds the topology.
     *
     * @param config topic names, model directory and validation policy
     * @param registry where the processors borrow the model from
     * @return the topology
     */
    public static Topology build(final StreamformerConfig config, final ModelRegistry registry) {
        final InferenceProcessor.Settings settings = new InferenceProcessor.Settings(
                config.getString(StreamformerConfig.MODEL_DIR), config.getBoolean(StreamformerConfig.TRUNCATE),
                config.getInt(StreamformerConfig.BATCH_SIZE), config.getLong(StreamformerConfig.BATCH_MAX_WAIT_MS),
                config.engineSettings(), config.forwardConcurrency(),
                config.getBoolean(StreamformerConfig.BATCH_LENGTH_BUCKETS));
        final Topology topology = new Topology();
        topology.addSource(SOURCE, new ByteArrayDeserializer(), new ByteArrayDeserializer(), config.requestsTopic());
        topology.addProcessor(INFERENCE, () -> new InferenceProcessor(registry, settings), SOURCE);
        if (settings.batchSize() > 1) {
            topology.addStateStore(BatchBuffer.storeBuilder(), INFERENCE);
        }
        topology.addSink(PREDICTIONS_SINK, config.predictionsTopic(), new StringSerializer(),
                StreamformerSerdes.prediction().serializer(), INFERENCE);
        topology.addSink(LATENCY_SINK, config.latencyTopic(), new StringSerializer(),
                StreamformerSerdes.latencyEvent().serializer(), INFERENCE);
        topology.addSink(DEAD_LETTER_SINK, config.deadLettersTopic(), new ByteArraySerializer(),
                StreamformerSerdes.deadLetter().serializer(), INFERENCE);
        return topology;
    }
}
