package dev.streamformer.stream;

import java.time.Duration;
import java.util.EnumMap;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;

import dev.streamformer.model.InferenceModel;
import dev.streamformer.model.ParameterStats;
import dev.streamformer.schemas.ErrorKind;
import dev.streamformer.schemas.LatencyEvent;

/**
 * The processor's meters, labelled by model name, version and engine. In the Prometheus text
 * format (GET /metrics) they are:
 * <pre>
 *   streamformer_requests_total                 records read from the request topic, bad ones too
 *   streamformer_predictions_total              predictions written
 *   streamformer_dead_letters_total{kind}       dead letters written, by ErrorKind
 *   streamformer_forward_passes_total           forward passes run (a failed pass's probe and retries included)
 *   streamformer_batch_size                     histogram of requests per forward pass
 *   streamformer_inference_seconds              histogram of the forward pass that served a request
 *   streamformer_batch_wait_seconds             received to inference start (validation + waiting for the batch)
 *   streamformer_processing_seconds             received to handed to Kafka
 *   streamformer_end_to_end_seconds             record timestamp to handed to Kafka (two clocks if produced elsewhere)
 *   streamformer_batch_buffered_requests        requests waiting in batch buffers now
 *   streamformer_gate_waiting_passes            forward passes waiting at the gate now
 *   streamformer_model_info{plan}               1, for the labels
 *   streamformer_model_parameters{kind}         unique and logical parameters
 *   streamformer_model_sharing_ratio            logical / unique parameters
 *   streamformer_model_bytes{dtype}             stored weight bytes by dtype
 *   streamformer_model_switches_total{model}    releases of a model name this JVM switched to (models topic)
 *   streamformer_model_refusals_total{model}    releases it refused (the failed check is in the log)
 *   streamformer_model_release_waiting_tasks    tasks waiting for the models topic's releases (StreamformerApp)
 * </pre>
 * One instance serves every task of a topology; meters of one model are created once.
 */
public final class ServingMetrics {

    /** Bucket bounds of the duration histograms. */
    private static final Duration[] DURATION_BUCKETS = {Duration.ofNanos(500_000), Duration.ofMillis(1),
        Duration.ofMillis(2), Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(20), Duration.ofMillis(50),
        Duration.ofMillis(100), Duration.ofMillis(200), Duration.ofMillis(500), Duration.ofSeconds(1),
        Duration.ofSeconds(2), Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(30)};
    private static final double[] BATCH_BUCKETS = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};

    private final MeterRegistry registry;
    private final Map<String, Model> models = new ConcurrentHashMap<>();
    /** Threads waiting for the schema registry now. */
    private final AtomicInteger registryWaiting = new AtomicInteger();

    /** @param registry where the meters go, for example a PrometheusMeterRegistry */
    public ServingMetrics(final MeterRegistry registry) {
        this.registry = registry;
        // At zero from the start, so that dashboards and alerts see the series before the first failure.
        registryFailures();
        Gauge.builder("streamformer.schema.registry.waiting", registryWaiting, AtomicInteger::get)
                .description("Stream threads waiting for the schema registry to answer (0 when it answers)")
                .register(registry);
    }

    /** @return metrics that go nowhere (a registry with no backend) */
    public static ServingMetrics disabled() {
        return new ServingMetrics(new CompositeMeterRegistry());
    }

    /** Counts a release this JVM switched to. */
    void switched(final String model) {
        switches(model).increment();
    }

    /** Counts a refused release. */
    void refused(final String model) {
        refusals(model).increment();
    }

    private Counter switches(final String model) {
        return Counter.builder("streamformer.model.switches").tag("model", model)
                .description("Releases of a model name this JVM switched to, from the models topic").register(registry);
    }

    private Counter refusals(final String model) {
        return Counter.builder("streamformer.model.refusals").tag("model", model)
                .description("Releases of a model name this JVM refused: a check failed, the log says which")
                .register(registry);
    }

    /** Counts a call to the schema registry that failed, not through the record's fault. */
    void registryFailed() {
        registryFailures().increment();
    }

    private Counter registryFailures() {
        return Counter.builder("streamformer.schema.registry.failures")
                .description("Calls to the schema registry that failed (no answer, a server error, refused credentials);"
                        + " the request waits and is retried, never dead-lettered for it")
                .register(registry);
    }

    /** @return the count of stream threads waiting for the schema registry now */
    AtomicInteger registryWaiting() {
        return registryWaiting;
    }

    /** @return the registry */
    public MeterRegistry registry() {
        return registry;
    }

    /**
     * @param model a served model
     * @return its meters, created on the first call
     */
    Model of(final InferenceModel model) {
        // The name's release counters at zero from its first version on, for dashboards and alerts.
        switches(model.name());
        refusals(model.name());
        return models.computeIfAbsent(model.name() + "|" + model.version() + "|" + model.engine(),
                k -> new Model(registry, model));
    }

    /**
     * Removes the gauges of a version no route serves any more (what it serves, its size, its
     * buffers); its counters and histograms stay, as counters do. Serving it again registers them anew.
     *
     * @param meters the version's meters
     */
    void retire(final Model meters) {
        models.values().remove(meters);
        meters.gauges.forEach(registry::remove);
    }

    /** The meters of one model. */
    static final class Model {
        final Counter requests;
        final Counter predictions;
        final Counter passes;
        final Map<ErrorKind, Counter> deadLetters = new EnumMap<>(ErrorKind.class);
        final DistributionSummary batchSize;
        final DistributionSummary exitLayers;
        final Timer inference;
        final Timer batchWait;
        final Timer processing;
        final Timer endToEnd;
        final AtomicInteger buffered = new AtomicInteger();
        final AtomicInteger gateWaiting = new AtomicInteger();
        final List<Meter> gauges = new ArrayList<>();

        Model(final MeterRegistry r, final InferenceModel model) {
            final Tags tags = Tags.of("model", model.name(), "version", model.version(), "engine",
                    model.engine().configName());
            requests = Counter.builder("streamformer.requests").tags(tags)
                    .description("Records read from the request topic, bad ones included").register(r);
            predictions = Counter.builder("streamformer.predictions").tags(tags)
                    .description("Predictions written").register(r);
            passes = Counter.builder("streamformer.forward.passes").tags(tags)
                    .description("Forward passes run, a failed pass's probe and one-by-one retries included").register(r);
            for (final ErrorKind kind : ErrorKind.values()) {
                deadLetters.put(kind, Counter.builder("streamformer.dead.letters").tags(tags).tag("kind", kind.name())
                        .description("Dead letters written, by kind").register(r));
            }
            final double[] depths = new double[model.config().numLayers()];
            for (int l = 0; l < depths.length; l++) {
                depths[l] = l + 1;
            }
            exitLayers = DistributionSummary.builder("streamformer.exit.layers").tags(tags)
                    .description("Layers each served request ran: all of them unless it left early (a model with exit"
                            + " heads)").serviceLevelObjectives(depths).register(r);
            batchSize = DistributionSummary.builder("streamformer.batch.size").tags(tags)
                    .description("Requests per forward pass").serviceLevelObjectives(BATCH_BUCKETS).register(r);
            inference = timer(r, "streamformer.inference", tags, "The forward pass that served a request");
            batchWait = timer(r, "streamformer.batch.wait", tags,
                    "From receipt to the start of the request's forward pass: validation and waiting for the batch");
            processing = timer(r, "streamformer.processing", tags, "From receipt to the outputs handed to Kafka");
            endToEnd = timer(r, "streamformer.end.to.end", tags,
                    "From the request's record timestamp to the outputs handed to Kafka (two clocks when produced"
                            + " elsewhere)");
            gauges.add(Gauge.builder("streamformer.batch.buffered", buffered, AtomicInteger::get).tags(tags)
                    .baseUnit("requests").description("Requests waiting in batch buffers").register(r));
            gauges.add(Gauge.builder("streamformer.gate.waiting", gateWaiting, AtomicInteger::get).tags(tags)
                    .baseUnit("passes").description("Forward passes waiting at the forward-pass gate").register(r));
            final ParameterStats stats = model.stats();
            gauges.add(Gauge.builder("streamformer.model.info", () -> 1).tags(tags).tag("plan", stats.plan())
                    .description("A served model version; its labels carry the sharing plan (a version no longer"
                            + " served is removed)").register(r));
            gauges.add(Gauge.builder("streamformer.model.parameters", stats::uniqueParameters).tags(tags)
                    .tag("kind", "unique").description("Parameters of the model: unique (stored once) and logical (as"
                            + " if nothing were shared)").register(r));
            gauges.add(Gauge.builder("streamformer.model.parameters", stats::logicalParameters).tags(tags)
                    .tag("kind", "logical").description("Parameters of the model: unique (stored once) and logical"
                            + " (as if nothing were shared)").register(r));
            gauges.add(Gauge.builder("streamformer.model.sharing.ratio", stats::sharingRatio).tags(tags)
                    .description("Logical / unique parameters").register(r));
            stats.bytesByDtype().forEach((dtype, bytes) -> gauges.add(Gauge.builder("streamformer.model", () -> bytes)
                    .tags(tags).tag("dtype", dtype).baseUnit("bytes").description("Stored weight bytes, by dtype")
                    .register(r)));
        }

        private static Timer timer(final MeterRegistry r, final String name, final Tags tags, final String what) {
            return Timer.builder(name).tags(tags).description(what).serviceLevelObjectives(DURATION_BUCKETS)
                    .register(r);
        }

        /** Records the durations of one served request, from its latency event. */
        void served(final LatencyEvent e) {
            predictions.increment();
            inference.record(Math.max(0, e.getInferenceUs()), TimeUnit.MICROSECONDS);
            batchWait.record(Math.max(0, e.getBatchWaitUs()), TimeUnit.MICROSECONDS);
            processing.record(Math.max(0, e.getProcessingUs()), TimeUnit.MICROSECONDS);
            endToEnd.record(Math.max(0, e.getEndToEndUs()), TimeUnit.MICROSECONDS);
        }
    }
}
