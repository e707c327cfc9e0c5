package dev.streamformer.stream;

import java.nio.charset.StandardCharsets;
import java.util.Map;

import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Branched;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Named;

import dev.streamformer.schemas.DeadLetter;
import dev.streamformer.schemas.LatencyEvent;
import dev.streamformer.schemas.Prediction;
import dev.streamformer.schemas.TokenizedInput;
import dev.streamformer.schemas.serde.SingleObjectSerde;
import dev.streamformer.schemas.serde.StreamformerSerdes;

/**
 * The processor's topology: one source of raw request bytes, one inference processor, three
 * sinks.
 * <pre>
 *   requests (bytes) --> inference --> predictions   (key: request id, Prediction)
 *                                 \--> latency       (key: request id, LatencyEvent)
 *                                 \--> dead letters  (key: original key bytes, DeadLetter)
 *                                 \--> shadow        (key: request id, a shadow candidate's Prediction)
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
    static final String SHADOW_SINK = "shadow-sink";

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
        return build(config, registry, ServingMetrics.disabled());
    }

    /**
     * Builds the topology, with its meters.
     *
     * @param config topic names, model directory and validation policy
     * @param registry where the processors borrow the model from
     * @param metrics where the processors count and time what they do
     * @return the topology
     */
    public static Topology build(final StreamformerConfig config, final ModelRegistry registry,
            final ServingMetrics metrics) {
        return build(config, new ModelCatalog(config, registry, metrics));
    }

    /**
     * Builds the topology on a catalog of models that may change while it runs (the application's,
     * which follows the models topic).
     *
     * @param config topic names and batching
     * @param catalog the versions to serve, by model name
     * @return the topology
     */
    public static Topology build(final StreamformerConfig config, final ModelCatalog catalog) {
        final InferenceProcessor.Settings settings = settings(config);
        final Topology topology = new Topology();
        topology.addSource(SOURCE, new ByteArrayDeserializer(), new ByteArrayDeserializer(), config.requestsTopic());
        topology.addProcessor(INFERENCE, () -> new InferenceProcessor<byte[]>(catalog, settings, k -> k, true), SOURCE);
        if (settings.batchSize() > 1) {
            topology.addStateStore(BatchBuffer.storeBuilder(), INFERENCE);
        }
        topology.addSink(PREDICTIONS_SINK, config.predictionsTopic(), new StringSerializer(),
                StreamformerSerdes.prediction().serializer(), INFERENCE);
        topology.addSink(LATENCY_SINK, config.latencyTopic(), new StringSerializer(),
                StreamformerSerdes.latencyEvent().serializer(), INFERENCE);
        topology.addSink(DEAD_LETTER_SINK, config.deadLettersTopic(), new ByteArraySerializer(),
                StreamformerSerdes.deadLetter().serializer(), INFERENCE);
        topology.addSink(SHADOW_SINK, config.getString(StreamformerConfig.TOPIC_SHADOW), new StringSerializer(),
                StreamformerSerdes.prediction().serializer(), INFERENCE);
        return topology;
    }

    /**
     * Adds the inference step to a topology of the user's own: requests from any stream of the
     * builder (after a filter, a join, a repartition), and three streams out for the user to send
     * where they like or to process further. Batching, the shared model, validation and dead letters
     * behave as in the processor application; the {@code streamformer.topic.*} keys are not used.
     * Call it at most once per topology (the batch buffer is one store of a fixed name,
     * {@value BatchBuffer#STORE}). As after any {@code process()} step, Kafka Streams marks the
     * streams out for repartitioning: a join or an aggregation on them goes through a repartition
     * topic, so give it serdes ({@code Joined.with}, {@code Grouped.with}).
     *
     * <pre>{@code
     * StreamsBuilder builder = new StreamsBuilder();
     * KStream<String, TokenizedInput> requests = builder.stream("mail",
     *         Consumed.with(Serdes.String(), StreamformerSerdes.tokenizedInput()));
     * StreamformerTopology.Outputs out = StreamformerTopology.addTo(builder,
     *         requests.filter((id, r) -> !r.getTokenIds().isEmpty()), config, ModelRegistry.shared());
     * out.predictions().to("labels", Produced.with(Serdes.String(), StreamformerSerdes.prediction()));
     * out.deadLetters().to("mail-dlq", Produced.with(Serdes.ByteArray(), StreamformerSerdes.deadLetter()));
     * }</pre>
     *
     * @param builder the user's builder
     * @param requests requests keyed by any string (the request id is in the value)
     * @param config the model, batching, engine and validation settings
     * @param registry where the processors borrow the model from; {@link ModelRegistry#shared()} in an application
     * @return the predictions and latency events, keyed by request id, and the dead letters, keyed by the
     *     request's key as UTF-8 bytes
     */
    public static Outputs addTo(final StreamsBuilder builder, final KStream<String, TokenizedInput> requests,
            final StreamformerConfig config, final ModelRegistry registry) {
        return addTo(builder, requests, config, registry, ServingMetrics.disabled());
    }

    /**
     * {@link #addTo(StreamsBuilder, KStream, StreamformerConfig, ModelRegistry)} with meters, for
     * example on the application's own Micrometer registry.
     *
     * @param builder the user's builder
     * @param requests requests keyed by any string
     * @param config the model, batching, engine and validation settings
     * @param registry where the processors borrow the model from
     * @param metrics where the inference step counts and times what it does
     * @return the streams out
     */
    public static Outputs addTo(final StreamsBuilder builder, final KStream<String, TokenizedInput> requests,
            final StreamformerConfig config, final ModelRegistry registry, final ServingMetrics metrics) {
        final InferenceProcessor.Settings settings = settings(config);
        final ModelCatalog catalog = new ModelCatalog(config, registry, metrics);
        final SingleObjectSerde<TokenizedInput> serde = StreamformerSerdes.tokenizedInput();
        final String[] stores;
        if (settings.batchSize() > 1) {
            builder.addStateStore(BatchBuffer.storeBuilder());
            stores = new String[] {BatchBuffer.STORE};
        } else {
            stores = new String[0];
        }
        final KStream<Object, Object> out = requests
                .mapValues(request -> request == null ? null : serde.serialize(null, request), Named.as("streamformer-encode"))
                .process(() -> new InferenceProcessor<String>(catalog, settings,
                        key -> key.getBytes(StandardCharsets.UTF_8), false), Named.as(INFERENCE), stores);
        final Map<String, KStream<Object, Object>> branches = out.split(Named.as("streamformer-"))
                .branch((k, v) -> v instanceof Prediction, Branched.as("predictions"))
                .branch((k, v) -> v instanceof LatencyEvent, Branched.as("latency"))
                .branch((k, v) -> v instanceof InferenceProcessor.Shadow, Branched.as("shadow"))
                .defaultBranch(Branched.as("dead-letters"));
        final KStream<String, Prediction> shadow = typed(branches.get("streamformer-shadow")
                .mapValues(v -> (Object) ((InferenceProcessor.Shadow) v).prediction(), Named.as("streamformer-unwrap-shadow")));
        return new Outputs(typed(branches.get("streamformer-predictions")), typed(branches.get("streamformer-latency")),
                typed(branches.get("streamformer-dead-letters")), shadow);
    }

    /**
     * Narrows a branch to the key and value types its records have. A cast rather than {@code map}, which
     * would mark the stream for repartitioning before any join the user adds.
     */
    @SuppressWarnings("unchecked")
    private static <K, V> KStream<K, V> typed(final KStream<Object, Object> branch) {
        return (KStream<K, V>) (KStream<?, ?>) branch;
    }

    /**
     * The streams out of the inference step.
     *
     * @param predictions one per served request, keyed by request id
     * @param latency one latency event per served request, keyed by request id
     * @param deadLetters one per request that could not be served, keyed by the request's key bytes
     * @param shadowPredictions a shadow candidate's predictions, keyed by request id (none unless the
     *     catalog has one; {@link StreamformerTopology#addTo} alone never does)
     */
    public record Outputs(KStream<String, Prediction> predictions, KStream<String, LatencyEvent> latency,
            KStream<byte[], DeadLetter> deadLetters, KStream<String, Prediction> shadowPredictions) {
    }

    private static InferenceProcessor.Settings settings(final StreamformerConfig config) {
        return new InferenceProcessor.Settings(config.getBoolean(StreamformerConfig.TRUNCATE),
                config.getInt(StreamformerConfig.BATCH_SIZE), config.getLong(StreamformerConfig.BATCH_MAX_WAIT_MS),
                config.getInt(StreamformerConfig.TEXT_MAX_TOKENS));
    }
}
