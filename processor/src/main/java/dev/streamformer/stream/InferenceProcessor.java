package dev.streamformer.stream;

import java.time.Duration;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;

import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.streamformer.model.InvalidInputException;
import dev.streamformer.schemas.BufferedRequest;
import dev.streamformer.schemas.ErrorKind;
import dev.streamformer.schemas.LatencyEvent;
import dev.streamformer.schemas.Prediction;
import dev.streamformer.schemas.TokenizedInput;
import dev.streamformer.schemas.serde.SingleObjectSerde;
import dev.streamformer.schemas.serde.StreamformerSerdes;
import dev.streamformer.schemas.wire.RequestDecoder;

/**
 * Serves requests: each is decoded once, routed once by its model field to a version of the
 * {@link ModelCatalog} (the stable one, or a canary candidate by a hash of its id), validated for it
 * ({@link RequestValidator}; invalid requests never wait), buffered into a batch, run by the
 * version's {@link BatchRunner} on the model shared by every task of this JVM, and forwarded under
 * its own key as an {@link InferenceResult}: served, a dead letter, or a shadow candidate's
 * prediction beside the served one. A request whose version was replaced while it waited is routed
 * again when its batch runs, so on every partition the version changes once per switch. A failure
 * that belongs to one record becomes that record's dead letter; an engine that fails every request
 * fails the stream thread instead ({@link BatchRunner.EngineFailure}), so that exactly-once retries
 * the requests on a new thread.
 *
 * <p>With a batch size above 1, requests wait in the task's changelogged {@link BatchBuffer} until
 * the batch is full or the oldest has waited the maximum (a wall-clock punctuation), then run as
 * one padded forward pass per version. Batches are per task (per input partition), because only a
 * task's own store is committed with its offsets.
 *
 * @param <K> the request key type
 * @param <V> the request value type: raw bytes (decoded here, so undecodable records become dead
 *     letters) or a request the application decoded
 */
final class InferenceProcessor<K, V> implements Processor<K, V, K, InferenceResult> {

    private static final Logger LOG = LoggerFactory.getLogger(InferenceProcessor.class);

    private final ModelCatalog catalog;
    private final Settings settings;
    private final Serde<K> keys;
    private final RequestReader<V> reader;
    private final RequestDecoder decoder;
    private final RegistryWait registryWait;
    private final SingleObjectSerde<TokenizedInput> requests = StreamformerSerdes.tokenizedInput();
    private final List<PendingRequest<K>> pending = new ArrayList<>();
    /** This task's validator and tokenizer of each version it has served (tokenizers are not thread-safe). */
    private final Map<ModelCatalog.Served, TaskVersion> versions = new IdentityHashMap<>();

    private ProcessorContext<K, InferenceResult> context;
    private RequestTracing tracing = RequestTracing.OFF;
    private boolean attached;
    private BatchBuffer buffer;

    /**
     * How the processor serves requests.
     *
     * @param truncate truncate too-long requests instead of dead-lettering them
     * @param batchSize requests per forward pass; 1 runs each request as it arrives, without a buffer
     * @param maxWaitMs the longest a buffered request waits for its batch to fill
     * @param textMaxTokens the most tokens a text request is cut to; 0 = the model's input length
     * @param passthrough the request headers copied to its prediction and latency event
     * @param tracing the JVM's tracing for an application id
     * @param refillPool requests the buffer collects for one pass with depth-wise refill; 0 = a batch of
     *     {@code batchSize}
     */
    record Settings(boolean truncate, int batchSize, long maxWaitMs, int textMaxTokens, Set<String> passthrough,
            Function<String, RequestTracing> tracing, int refillPool) {

        static Settings of(final StreamformerConfig config) {
            return new Settings(config.getBoolean(StreamformerConfig.TRUNCATE_CONFIG),
                    config.getInt(StreamformerConfig.BATCH_SIZE_CONFIG), config.getLong(StreamformerConfig.BATCH_MAX_WAIT_MS_CONFIG),
                    config.getInt(StreamformerConfig.TEXT_MAX_TOKENS_CONFIG),
                    Set.copyOf(config.getList(StreamformerConfig.HEADERS_PASSTHROUGH_CONFIG)),
                    applicationId -> RequestTracing.of(config, applicationId), config.refillPool());
        }

        /** @return the buffered requests that start a pass */
        int flushAt() {
            return refillPool > 0 ? refillPool : batchSize;
        }
    }

    /**
     * @param catalog the versions to serve, by model name
     * @param settings how to serve
     * @param keys the key serde, for the buffer and the dead letters' key bytes
     * @param reader how values are read
     * @param decoder how the buffer's values are read back after a restart (any format)
     */
    InferenceProcessor(final ModelCatalog catalog, final Settings settings, final Serde<K> keys,
            final RequestReader<V> reader, final RequestDecoder decoder) {
        this.catalog = catalog;
        this.settings = settings;
        this.keys = keys;
        this.reader = reader;
        this.decoder = decoder;
        this.registryWait = new RegistryWait(catalog.metrics());
    }

    @Override
    public void init(final ProcessorContext<K, InferenceResult> processorContext) {
        this.context = processorContext;
        this.tracing = settings.tracing().apply(context.applicationId());
        catalog.attach();
        attached = true;
        // A partition moved here from an instance that switched already: switch here first.
        catalog.sync();
        if (settings.flushAt() > 1) {
            buffer = new BatchBuffer(context.getStateStore(BatchBuffer.STORE));
            for (final KeyValue<Long, BufferedRequest> restored : buffer.restore()) {
                final BufferedRequest e = restored.value;
                final TokenizedInput request = decodeWaitingForRegistry(() -> decoder.decode(e.getTopic(),
                        BatchBuffer.bytes(e.getValue()), e.getTimestamp()), e.getTopic(), e.getPartition(), e.getOffset());
                final PendingRequest<K> p = PendingRequest.restored(restored.key, e, keys, request);
                trace(p);
                pending.add(p);
            }
            if (!pending.isEmpty()) {
                final ServingMetrics.Model meters = defaultMeters();
                pending.forEach(p -> p.bufferedOn(meters));
                LOG.info("Task {} restored {} buffered requests", context.taskId(), pending.size());
            }
            context.schedule(Duration.ofMillis(Math.max(1, settings.maxWaitMs())), PunctuationType.WALL_CLOCK_TIME,
                    this::flushIfDue);
        }
    }

    @Override
    public void process(final Record<K, V> record) {
        final RecordMetadata meta = context.recordMetadata().orElseThrow();
        final PendingRequest<K> p = new PendingRequest<>(meta.topic(), meta.partition(), meta.offset(), record.timestamp(),
                record.key(), reader.bytes(record.value()), new RecordHeaders(record.headers().toArray()),
                Clock.nowMicros(), context.currentSystemTimeMs());
        trace(p);
        if (record.value() == null) {
            rejected(p, null, ErrorKind.DESERIALIZATION, new SerializationException(
                    "value is null (a tombstone): produce a TokenizedInput (Avro single-object encoding, a schema"
                    + " registry's framing, or JSON)"));
            return;
        }
        try {
            p.request = decodeWaitingForRegistry(() -> reader.decode(meta.topic(), record.value(), record.timestamp()),
                    meta.topic(), meta.partition(), meta.offset());
        } catch (SerializationException e) {
            rejected(p, null, ErrorKind.DESERIALIZATION, e);
            return;
        }
        if (!route(p)) {
            return;
        }
        if (buffer == null) {
            run(List.of(p));
            return;
        }
        p.bufferKey = buffer.add(p.entry(keys, requests));
        p.bufferedOn(p.served.meters);
        pending.add(p);
        if (pending.size() >= settings.flushAt()) {
            flush();
        }
    }

    /** Decodes a request, waiting while the schema registry does not answer ({@link RegistryWait}). */
    private TokenizedInput decodeWaitingForRegistry(final Supplier<TokenizedInput> decode, final String topic,
            final int partition, final long offset) {
        return registryWait.call(decode, () -> "the request at " + topic + "-" + partition + "@" + offset);
    }

    /** Starts the request's process span, when tracing is on. */
    private void trace(final PendingRequest<K> p) {
        if (tracing.on()) {
            final Object key = p.key;
            p.span = tracing.startProcess(p.headers, p.topic, p.partition, p.offset, context.applicationId(),
                    key == null ? null : key instanceof byte[] b ? new String(b, java.nio.charset.StandardCharsets.UTF_8)
                            : key.toString());
        }
    }

    /** @return the request's headers that pass through to what is written for it */
    private Headers passthrough(final PendingRequest<K> p) {
        final Headers out = new RecordHeaders();
        if (!settings.passthrough().isEmpty() && p.headers != null) {
            for (final Header h : p.headers) {
                if (settings.passthrough().contains(h.key())) {
                    out.add(h.key(), h.value());
                }
            }
        }
        return out;
    }

    private void flushIfDue(final long nowMs) {
        if (!pending.isEmpty() && nowMs - pending.get(0).arrivedMs >= settings.maxWaitMs()) {
            flush();
        }
    }

    private void flush() {
        final List<PendingRequest<K>> batch = List.copyOf(pending);
        pending.clear();
        batch.forEach(PendingRequest::unbuffered);
        run(batch);
        buffer.remove(batch.stream().map(p -> p.bufferKey).toList());
    }

    /**
     * Runs a batch: each version's requests as one pass, then each shadow candidate's beside them. A
     * request runs on the version it was routed to when it arrived, unless that version was replaced
     * since (or it was restored after a restart): then it is routed now. The versions are held until
     * the batch is done, so none closes under it.
     */
    private void run(final List<PendingRequest<K>> batch) {
        final Map<ModelCatalog.Served, List<PendingRequest<K>>> byVersion = new LinkedHashMap<>();
        final Map<ModelCatalog.Served, List<PendingRequest<K>>> byShadow = new LinkedHashMap<>();
        final Holds holds = new Holds();
        try {
            for (final PendingRequest<K> p : batch) {
                if (ready(p, holds)) {
                    byVersion.computeIfAbsent(p.served, k -> new ArrayList<>()).add(p);
                    if (p.shadow != null && !p.shadow.retired() && holds.hold(p.shadow)) {
                        byShadow.computeIfAbsent(p.shadow, k -> new ArrayList<>()).add(p);
                    }
                }
            }
            byVersion.forEach(this::serve);
            byShadow.forEach(this::shadow);
        } finally {
            holds.releaseAll();
        }
    }

    /** @return whether the request is routed to a version the batch holds; false when it was dead-lettered */
    private boolean ready(final PendingRequest<K> p, final Holds holds) {
        if (p.served != null && !p.served.retired() && holds.hold(p.served)) {
            return true;
        }
        do {
            if (!route(p)) {
                return false;
            }
            // Closed since the route was read: read it again.
        } while (!holds.hold(p.served));
        return true;
    }

    /**
     * Routes a request to the version that serves it now, by its model field and id, and validates it
     * for that version.
     *
     * @return whether it is valid; false when it was dead-lettered
     */
    private boolean route(final PendingRequest<K> p) {
        final ModelCatalog.Route route = catalog.route(p.request.getModel());
        if (route == null) {
            rejected(p, null, ErrorKind.VALIDATION, new InvalidInputException(0, "request asks for model '"
                    + p.request.getModel() + "' but this processor serves " + String.join(", ", catalog.routes().keySet())
                    + ": send it to a processor that serves that model, or leave model empty"));
            return false;
        }
        p.served = route.pick(p.request.getRequestId() == null ? "" : p.request.getRequestId());
        final ModelCatalog.Served shadow = route.shadowVersion();
        p.shadow = shadow == p.served ? null : shadow;
        if (!p.counted) {
            p.counted = true;
            p.served.meters.requests.increment();
        }
        try {
            p.valid = version(p.served).validator.validate(p.request);
            return true;
        } catch (InvalidInputException e) {
            rejected(p, p.served.meters, ErrorKind.VALIDATION, e);
            return false;
        }
    }

    /**
     * Runs a group and forwards each request's result as soon as it and every request before it are
     * known: with early exit, a request that leaves after layer 1 is forwarded before the requests
     * behind it run on, unless one before it still runs (outputs keep the order of the requests).
     */
    private void serve(final ModelCatalog.Served served, final List<PendingRequest<K>> group) {
        final String thread = Thread.currentThread().getName();
        final String task = context.taskId().toString();
        final BatchRunner.Outcome[] known = new BatchRunner.Outcome[group.size()];
        final int[] next = {0};
        final io.opentelemetry.api.trace.Span inference = tracing.on() ? tracing.startInference(served.model().name(),
                served.model().version(), group.stream().map(p -> p.span).toList()) : null;
        try {
            served.runner.run(group.stream().map(p -> p.valid.input()).toList(), (i, outcome) -> {
                known[i] = outcome;
                for (; next[0] < known.length && known[next[0]] != null; next[0]++) {
                    forward(served, group.get(next[0]), known[next[0]], thread, task);
                }
            });
        } finally {
            RequestTracing.end(inference);
        }
    }

    private void forward(final ModelCatalog.Served served, final PendingRequest<K> p, final BatchRunner.Outcome outcome,
            final String thread, final String task) {
        if (outcome.failure() != null) {
            rejected(p, served.meters, ErrorKind.INFERENCE, outcome.failure());
            return;
        }
        final BatchRunner.Pass pass = outcome.pass();
        final String requestId = p.request.getRequestId();
        final Prediction prediction = Predictions.of(served.model(), p.request, p.valid, outcome);
        final LatencyEvent latency = LatencyRecorder.event(
                new LatencyRecorder.Origin(requestId, served.model().version(), p.topic, p.partition, p.offset,
                        thread, task, pass.size(), outcome.layers()),
                new LatencyRecorder.Times(p.timestamp, p.receivedUs, pass.startUs(), pass.endUs(), Clock.nowMicros()));
        context.forward(new Record<>(p.key, InferenceResult.served(prediction, latency), p.timestamp,
                RequestTracing.inject(p.span, passthrough(p))));
        RequestTracing.served(p.span, served.model().version(), prediction.getLabel(), outcome.layers());
        served.meters.served(latency);
        served.meters.exitLayers.record(outcome.layers());
    }

    /**
     * Runs a shadow candidate on the requests its route's serving versions served. A shadow pass that
     * fails costs nothing but its log line: the requests were served.
     */
    private void shadow(final ModelCatalog.Served candidate, final List<PendingRequest<K>> group) {
        final List<PendingRequest<K>> valid = new ArrayList<>(group.size());
        final List<RequestValidator.Valid> inputs = new ArrayList<>(group.size());
        for (final PendingRequest<K> p : group) {
            try {
                inputs.add(version(candidate).validator.validate(p.request));
                valid.add(p);
            } catch (InvalidInputException e) {
                LOG.debug("Shadow version {} cannot serve request {}: {}", candidate.model().version(),
                        p.request.getRequestId(), e.getMessage());
            }
        }
        try {
            final List<BatchRunner.Outcome> outcomes = candidate.runner.run(inputs.stream().map(v -> v.input()).toList());
            for (int i = 0; i < valid.size(); i++) {
                final PendingRequest<K> p = valid.get(i);
                final BatchRunner.Outcome outcome = outcomes.get(i);
                if (outcome.failure() == null) {
                    context.forward(new Record<>(p.key, InferenceResult.shadow(Predictions.of(candidate.model(),
                            p.request, inputs.get(i), outcome)), p.timestamp, RequestTracing.inject(p.span, passthrough(p))));
                    // No latency event (the request was served once), but the candidate's inference
                    // histogram on /metrics, beside the stable version's.
                    candidate.meters.inference.record(outcome.pass().endUs() - outcome.pass().startUs(), TimeUnit.MICROSECONDS);
                }
            }
        } catch (BatchRunner.EngineFailure e) {
            LOG.warn("Shadow version {} failed: {}", candidate.model().version(), e.getMessage());
        }
    }

    /**
     * Forwards the dead letter of a request: the DeadLetter body, and the record's own headers with
     * Kafka Streams' dead-letter headers (KIP-1034) added, so Kafka's tooling reads it too.
     *
     * @param meters the version's meters, or null for the default route's (not routed yet)
     */
    private void rejected(final PendingRequest<K> p, final ServingMetrics.Model meters, final ErrorKind kind,
            final RuntimeException cause) {
        final ServingMetrics.Model m = meters == null ? defaultMeters() : meters;
        if (!p.counted) {
            p.counted = true;
            m.requests.increment();
        }
        m.deadLetters.get(kind).increment();
        final String message = kind == ErrorKind.INFERENCE ? "inference failed: " + cause.getMessage() : cause.getMessage();
        final byte[] keyBytes = p.keyBytes(keys);
        context.forward(new Record<>(p.key, InferenceResult.deadLetter(DeadLetters.of(p.topic, p.partition, p.offset,
                p.request == null ? null : p.request.getRequestId(), keyBytes, p.valueBytes(requests), kind, message)),
                p.timestamp, RequestTracing.inject(p.span, DeadLetters.headers(p.headers, p.topic, p.partition, p.offset,
                        cause, message))));
        RequestTracing.failed(p.span, kind.name(), message);
    }

    private TaskVersion version(final ModelCatalog.Served served) {
        TaskVersion v = versions.get(served);
        if (v == null) {
            versions.entrySet().removeIf(e -> {
                if (e.getKey().retired()) {
                    e.getValue().close();
                    return true;
                }
                return false;
            });
            final TaskTokenizer tokenizer = new TaskTokenizer(served.dir(), settings.textMaxTokens(),
                    served.model().config().maxPositions());
            v = new TaskVersion(new RequestValidator(served.model(), settings.truncate(), tokenizer), tokenizer);
            versions.put(served, v);
        }
        return v;
    }

    private ServingMetrics.Model defaultMeters() {
        return catalog.route(null).stable().meters;
    }

    @Override
    public void close() {
        if (attached) {
            // The task's buffered requests move with the task to its next owner.
            pending.forEach(PendingRequest::unbuffered);
            pending.clear();
            versions.values().forEach(TaskVersion::close);
            versions.clear();
            attached = false;
            catalog.detach();
        }
    }

    /** The versions a batch holds, each once, so that none closes while the batch runs on it. */
    private static final class Holds {
        private final Map<ModelCatalog.Served, Boolean> held = new IdentityHashMap<>();

        /** @return whether the version is held; false when it closed since its route was read */
        boolean hold(final ModelCatalog.Served served) {
            if (held.containsKey(served)) {
                return true;
            }
            if (!served.retain()) {
                return false;
            }
            held.put(served, Boolean.TRUE);
            return true;
        }

        void releaseAll() {
            held.keySet().forEach(ModelCatalog.Served::release);
            held.clear();
        }
    }

    /** A task's validator and tokenizer of one version. */
    private record TaskVersion(RequestValidator validator, TaskTokenizer tokenizer) implements AutoCloseable {
        @Override
        public void close() {
            tokenizer.close();
        }
    }
}
