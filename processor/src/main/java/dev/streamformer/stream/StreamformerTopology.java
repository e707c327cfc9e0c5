package dev.streamformer.stream;

import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.processor.api.ContextualProcessor;
import org.apache.kafka.streams.processor.api.Record;

import dev.streamformer.schemas.wire.WireSerdes;
import dev.streamformer.schemas.wire.RequestDecoder;

/**
 * The standalone processor's topology: one source of raw request bytes, the inference step, and a
 * router that sends each result to the sink of its kind.
 * <pre>
 *   requests (bytes) --> inference --> outputs --> predictions   (key: request id, Prediction)
 *                                             \--> latency       (key: request id, LatencyEvent)
 *                                             \--> dead letters  (key: original key bytes, DeadLetter)
 *                                             \--> shadow        (key: request id, a shadow candidate's Prediction)
 * </pre>
 * Requests are read as bytes and decoded in the inference step, in any format {@link RequestDecoder}
 * reads (Avro single-object, a schema registry's framing, JSON), so that undecodable records reach
 * the dead-letter topic with their original bytes instead of stopping the stream thread. Outputs are
 * written in {@code streamformer.output.format}. An
 * application of its own embeds the step with {@link InferenceSupplier} instead.
 */
public final class StreamformerTopology {

    static final String SOURCE = "requests-source";
    static final String INFERENCE = "inference";
    static final String OUTPUTS = "outputs";
    static final String PREDICTIONS_SINK = "predictions-sink";
    static final String LATENCY_SINK = "latency-sink";
    static final String DEAD_LETTER_SINK = "dead-letter-sink";
    static final String SHADOW_SINK = "shadow-sink";

    private StreamformerTopology() {
    }

    /**
     * Builds the topology on the configured models, without meters.
     *
     * @param config topic names, model directory and validation policy
     * @param registry where the processors borrow the model from
     * @return the topology
     */
    public static Topology build(final StreamformerAppConfig config, final ModelRegistry registry) {
        return build(config, new ModelCatalog(new StreamformerConfig(config.originals()), registry,
                ServingMetrics.disabled()));
    }

    /**
     * Builds the topology on a catalog of models that may change while it runs (the application's,
     * which follows the models topic).
     *
     * @param config topic names and batching
     * @param catalog the versions to serve, by model name
     * @return the topology
     */
    public static Topology build(final StreamformerAppConfig config, final ModelCatalog catalog) {
        final StreamformerConfig own = new StreamformerConfig(config.originals());
        final InferenceProcessor.Settings settings = InferenceProcessor.Settings.of(own);
        final RequestDecoder decoder = new RequestDecoder(own.schemaRegistry());
        final WireSerdes outputs = own.outputSerdes();
        final RegistryWait wait = new RegistryWait(catalog.metrics());
        final Topology topology = new Topology();
        topology.addSource(SOURCE, new ByteArrayDeserializer(), new ByteArrayDeserializer(), config.requestsTopic());
        topology.addProcessor(INFERENCE, () -> new InferenceProcessor<>(catalog, settings, Serdes.ByteArray(),
                RequestReader.bytes(decoder), decoder), SOURCE);
        if (settings.flushAt() > 1) {
            topology.addStateStore(BatchBuffer.storeBuilder(), INFERENCE);
        }
        topology.addProcessor(OUTPUTS, Router::new, INFERENCE);
        topology.addSink(PREDICTIONS_SINK, config.predictionsTopic(), new StringSerializer(),
                wait.serializer(outputs.prediction().serializer()), OUTPUTS);
        topology.addSink(LATENCY_SINK, config.latencyTopic(), new StringSerializer(),
                wait.serializer(outputs.latencyEvent().serializer()), OUTPUTS);
        topology.addSink(DEAD_LETTER_SINK, config.deadLettersTopic(), new ByteArraySerializer(),
                wait.serializer(outputs.deadLetter().serializer()), OUTPUTS);
        topology.addSink(SHADOW_SINK, config.getString(StreamformerAppConfig.TOPIC_SHADOW_CONFIG), new StringSerializer(),
                wait.serializer(outputs.prediction().serializer()), OUTPUTS);
        return topology;
    }

    /** Sends each result to its sink: predictions, latency and shadow keyed by request id, dead letters by the original key. */
    private static final class Router extends ContextualProcessor<byte[], InferenceResult, Object, Object> {
        @Override
        public void process(final Record<byte[], InferenceResult> record) {
            final InferenceResult r = record.value();
            switch (r.kind()) {
                case SERVED -> {
                    final String id = r.prediction().getRequestId();
                    context().forward(record.withKey((Object) id).withValue(r.prediction()), PREDICTIONS_SINK);
                    context().forward(record.withKey((Object) id).withValue(r.latency()), LATENCY_SINK);
                }
                case DEAD_LETTER -> context().forward(record.withKey((Object) record.key()).withValue(r.deadLetter()),
                        DEAD_LETTER_SINK);
                case SHADOW -> context().forward(record.withKey((Object) r.prediction().getRequestId())
                        .withValue(r.prediction()), SHADOW_SINK);
                default -> throw new IllegalStateException("unknown result kind " + r.kind());
            }
        }
    }
}
