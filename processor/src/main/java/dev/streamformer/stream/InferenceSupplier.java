package dev.streamformer.stream;

import java.util.Set;

import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorSupplier;
import org.apache.kafka.streams.state.StoreBuilder;

import dev.streamformer.schemas.TokenizedInput;
import dev.streamformer.schemas.wire.RequestDecoder;

/**
 * The inference step for a topology of the application's own: requests in, one
 * {@link InferenceResult} per request out under the request's key, plus one per shadow prediction.
 * Batching, the model shared by every task of the JVM, validation and dead letters behave as in the
 * standalone processor; with a batch size above 1 the step brings its changelogged batch buffer
 * through {@link #stores()}, as Kafka Streams' own processors with state do, so the application adds
 * nothing but the step.
 *
 * <pre>{@code
 * KStream<String, InferenceResult> results = builder
 *         .stream("mail", Consumed.with(Serdes.String(), StreamformerSerdes.tokenizedInput()))
 *         .process(InferenceSupplier.of(config, Serdes.String()), Named.as("inference"));
 * InferenceOutputs<String> out = InferenceOutputs.of(results, "inference");
 * out.predictions().to("labels", Produced.with(Serdes.String(), StreamformerSerdes.prediction()));
 * }</pre>
 *
 * <p>Use it at most once per topology: the batch buffer is one store of a fixed name
 * ({@code streamformer-batch-buffer}). As after any {@code process()} step, Kafka Streams marks the
 * stream out for repartitioning, so a join or an aggregation on it names its serdes
 * ({@code Joined.with}, {@code Grouped.with}). To follow model releases (publish, canary, shadow,
 * rollback) while the application runs, build it on {@link LiveModels#catalog()}.
 *
 * @param <K> the request key type
 */
public final class InferenceSupplier<K> implements ProcessorSupplier<K, TokenizedInput, K, InferenceResult> {

    private final ModelCatalog catalog;
    private final InferenceProcessor.Settings settings;
    private final Serde<K> keys;

    private InferenceSupplier(final ModelCatalog catalog, final InferenceProcessor.Settings settings,
            final Serde<K> keys) {
        this.catalog = catalog;
        this.settings = settings;
        this.keys = keys;
    }

    /**
     * The step on the configured models, loaded once per JVM ({@link ModelRegistry#shared()}), without
     * meters or live releases.
     *
     * @param <K> the request key type
     * @param config the model, batching, engine and validation settings
     * @param keys the request key serde (a buffered request's key is kept as bytes, and a dead letter
     *     carries them)
     * @return the supplier
     */
    public static <K> InferenceSupplier<K> of(final StreamformerConfig config, final Serde<K> keys) {
        return of(config, keys, new ModelCatalog(config, ModelRegistry.shared(), ServingMetrics.disabled()));
    }

    /**
     * The step on a catalog of the application's: one with meters on its own registry, or
     * {@link LiveModels#catalog()}, which follows the models topic.
     *
     * @param <K> the request key type
     * @param config the batching and validation settings
     * @param keys the request key serde
     * @param catalog the versions to serve, by model name
     * @return the supplier
     */
    public static <K> InferenceSupplier<K> of(final StreamformerConfig config, final Serde<K> keys,
            final ModelCatalog catalog) {
        return new InferenceSupplier<>(catalog, InferenceProcessor.Settings.of(config), keys);
    }

    @Override
    public Processor<K, TokenizedInput, K, InferenceResult> get() {
        // The buffer keeps the decoded requests in single-object encoding, which needs no registry.
        return new InferenceProcessor<>(catalog, settings, keys, RequestReader.DECODED, new RequestDecoder(null));
    }

    /** @return the batch buffer's store when requests are batched, else none */
    @Override
    public Set<StoreBuilder<?>> stores() {
        return settings.flushAt() > 1 ? Set.of(BatchBuffer.storeBuilder()) : null;
    }
}
