package dev.streamformer.stream;

import java.time.Duration;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.streamformer.model.InferenceModel;
import dev.streamformer.model.InvalidInputException;
import dev.streamformer.model.ValidInput;
import dev.streamformer.schemas.DeadLetter;
import dev.streamformer.schemas.ErrorKind;
import dev.streamformer.schemas.LatencyEvent;
import dev.streamformer.schemas.Prediction;
import dev.streamformer.schemas.TokenizedInput;
import dev.streamformer.schemas.serde.SingleObjectSerde;
import dev.streamformer.schemas.serde.StreamformerSerdes;

/**
 * Routes each request: decoded once, routed by its model field to a version of the
 * {@link ModelCatalog} (the stable one, or a canary candidate by a hash of its id), validated
 * ({@link RequestValidator}), buffered into a batch, run by the version's {@link BatchRunner} on the
 * model shared by every task of this JVM, and forwarded as a prediction and a latency event, or a
 * dead letter, to the sinks of the topology; a shadow candidate's predictions go to the shadow sink.
 * A batch runs on the versions current when it runs: a request buffered before a switch is routed
 * again, so on every partition the version changes once per switch. A failure
 * that belongs to one record becomes that record's dead letter; an engine that fails every request
 * fails the stream thread instead ({@link BatchRunner.EngineFailure}), so that exactly-once retries
 * the requests on a new thread.
 *
 * <p>With a batch size above 1, valid requests wait in the task's changelogged {@link BatchBuffer}
 * until the batch is full or the oldest has waited the maximum (a wall-clock punctuation), then
 * run as one padded forward pass. Batches are per task (per input partition), because only a
 * task's own store is committed with its offsets.
 */
final class InferenceProcessor<K> implements Processor<K, byte[], Object, Object> {

    private static final Logger LOG = LoggerFactory.getLogger(InferenceProcessor.class);

    private final ModelCatalog catalog;
    private final Settings settings;
    private final Function<K, byte[]> keyBytes;
    private final boolean namedSinks;
    private final int batchSize;
    private final long maxWaitMs;
    private final SingleObjectSerde<TokenizedInput> requests = StreamformerSerdes.tokenizedInput();
    private final List<Pending> pending = new ArrayList<>();
    /** This task's validator and tokenizer of each version it has served (tokenizers are not thread-safe). */
    private final Map<ModelCatalog.Served, TaskVersion> versions = new IdentityHashMap<>();

    private ProcessorContext<Object, Object> context;
    private boolean attached;
    private BatchBuffer buffer;

    /**
     * How the processor serves requests.
     *
     * @param truncate truncate too-long requests instead of dead-lettering them
     * @param batchSize requests per forward pass; 1 runs each request as it arrives, without a buffer
     * @param maxWaitMs the longest a buffered request waits for its batch to fill
     * @param textMaxTokens the most tokens a text request is cut to; 0 = the model's input length
     */
    record Settings(boolean truncate, int batchSize, long maxWaitMs, int textMaxTokens) {
    }

    /**
     * @param catalog the versions to serve, by model name
     * @param settings how to serve
     * @param keyBytes the request key as bytes, for its dead letter
     * @param namedSinks forward each output to the sink of its kind ({@link StreamformerTopology#build});
     *     false forwards every output to every child, which tells them apart by type
     *     ({@link StreamformerTopology#addTo})
     */
    InferenceProcessor(final ModelCatalog catalog, final Settings settings, final Function<K, byte[]> keyBytes,
            final boolean namedSinks) {
        this.catalog = catalog;
        this.settings = settings;
        this.keyBytes = keyBytes;
        this.namedSinks = namedSinks;
        this.batchSize = settings.batchSize();
        this.maxWaitMs = settings.maxWaitMs();
    }

    @Override
    public void init(final ProcessorContext<Object, Object> processorContext) {
        this.context = processorContext;
        catalog.attach();
        attached = true;
        // A partition moved here from an instance that switched already: switch here first.
        catalog.sync();
        if (batchSize > 1) {
            buffer = new BatchBuffer(context.getStateStore(BatchBuffer.STORE));
            for (final KeyValue<Long, Source> restored : buffer.restore()) {
                final Source s = restored.value;
                final TokenizedInput request = requests.deserialize(s.topic(), s.value());
                // Routed and validated again when its batch runs, on the versions current then.
                pending.add(new Pending(s, request, null, null, restored.key));
            }
            if (!pending.isEmpty()) {
                defaultMeters().buffered.addAndGet(pending.size());
                LOG.info("Task {} restored {} buffered requests", context.taskId(), pending.size());
            }
            context.schedule(Duration.ofMillis(Math.max(1, maxWaitMs)), PunctuationType.WALL_CLOCK_TIME,
                    now -> flushIfDue());
        }
    }

    @Override
    public void process(final org.apache.kafka.streams.processor.api.Record<K, byte[]> record) {
        final long receivedUs = Clock.nowMicros();
        final RecordMetadata meta = context.recordMetadata().orElseThrow();
        final Source source = new Source(meta.topic(), meta.partition(), meta.offset(), record.timestamp(),
                record.key() == null ? null : keyBytes.apply(record.key()), record.value(), receivedUs,
                new RecordHeaders(record.headers().toArray()));
        if (record.value() == null) {
            defaultMeters().requests.increment();
            deadLetter(defaultMeters(), source, null, ErrorKind.DESERIALIZATION, new SerializationException(
                    "value is null (a tombstone): produce a TokenizedInput in Avro single-object encoding"));
            return;
        }
        final TokenizedInput request;
        try {
            request = requests.deserialize(meta.topic(), record.value());
        } catch (SerializationException e) {
            defaultMeters().requests.increment();
            deadLetter(defaultMeters(), source, null, ErrorKind.DESERIALIZATION, e);
            return;
        }
        final Pending p;
        try {
            p = routed(new Pending(source, request, null, null, -1), true);
        } catch (InvalidInputException e) {
            return;
        }
        if (buffer == null) {
            predict(List.of(p));
            return;
        }
        pending.add(p.bufferedAs(buffer.add(source)));
        p.served().meters.buffered.incrementAndGet();
        if (pending.size() >= batchSize) {
            flush();
        }
    }

    /**
     * Routes a request to the version that serves it now and validates it for that version (again only
     * when the version changed since), or dead-letters it and throws.
     */
    private Pending routed(final Pending p, final boolean count) {
        final String requestId = p.request().getRequestId() == null ? "" : p.request().getRequestId();
        final ModelCatalog.Route route = catalog.route(p.request().getModel());
        if (route == null) {
            final InvalidInputException e = new InvalidInputException(0, "request asks for model '"
                    + p.request().getModel() + "' but this processor serves " + String.join(", ", catalog.routes().keySet())
                    + ": send it to a processor that serves that model, or leave model empty");
            if (count) {
                defaultMeters().requests.increment();
            }
            deadLetter(defaultMeters(), p.source(), p.request().getRequestId(), ErrorKind.VALIDATION, e);
            throw e;
        }
        final ModelCatalog.Served served = route.pick(requestId);
        if (count) {
            served.meters.requests.increment();
        }
        if (served == p.served() && p.valid() != null) {
            return p;
        }
        try {
            return new Pending(p.source(), p.request(), served, version(served).validator.validate(p.request()),
                    p.bufferKey());
        } catch (InvalidInputException e) {
            deadLetter(served.meters, p.source(), p.request().getRequestId(), ErrorKind.VALIDATION, e);
            throw e;
        }
    }

    private TaskVersion version(final ModelCatalog.Served served) {
        TaskVersion v = versions.get(served);
        if (v == null) {
            if (versions.keySet().removeIf(s -> {
                if (s.retired()) {
                    versions.get(s).close();
                    return true;
                }
                return false;
            })) {
                LOG.debug("Task {} dropped the tokenizers of retired versions", context.taskId());
            }
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

    private void flushIfDue() {
        if (!pending.isEmpty() && Clock.nowMicros() - pending.get(0).source().receivedUs() >= maxWaitMs * 1_000) {
            flush();
        }
    }

    private void flush() {
        final List<Pending> batch = List.copyOf(pending);
        pending.clear();
        final List<Pending> now = new ArrayList<>(batch.size());
        for (final Pending p : batch) {
            (p.served() == null ? defaultMeters() : p.served().meters).buffered.decrementAndGet();
            try {
                now.add(routed(p, false));
            } catch (InvalidInputException e) {
                // dead-lettered
            }
        }
        predict(now);
        buffer.remove(batch.stream().map(Pending::bufferKey).toList());
    }

    /** Runs routed, valid requests: one group per version, then the shadow version of each route beside it. */
    private void predict(final List<Pending> batch) {
        final Map<ModelCatalog.Served, List<Pending>> byVersion = new IdentityHashMap<>();
        for (final Pending p : batch) {
            byVersion.computeIfAbsent(p.served(), k -> new ArrayList<>()).add(p);
        }
        for (final Map.Entry<ModelCatalog.Served, List<Pending>> group : byVersion.entrySet()) {
            serve(group.getKey(), group.getValue());
        }
        shadow(batch);
    }

    private void serve(final ModelCatalog.Served served, final List<Pending> group) {
        if (!served.retain()) {
            // Retired and closed since the requests were routed: route them again.
            final List<Pending> again = new ArrayList<>();
            for (final Pending p : group) {
                try {
                    again.add(routed(new Pending(p.source(), p.request(), null, null, p.bufferKey()), false));
                } catch (InvalidInputException e) {
                    // dead-lettered
                }
            }
            predict(again);
            return;
        }
        try {
            final List<BatchRunner.Outcome> outcomes = served.runner.run(group.stream().map(p -> p.valid().input()).toList());
            final String thread = Thread.currentThread().getName();
            final String task = context.taskId().toString();
            final InferenceModel model = served.model();
            for (int i = 0; i < group.size(); i++) {
                final Pending p = group.get(i);
                final BatchRunner.Outcome outcome = outcomes.get(i);
                final String requestId = p.request().getRequestId();
                if (outcome.failure() != null) {
                    deadLetter(served.meters, p.source(), requestId, ErrorKind.INFERENCE, outcome.failure());
                    continue;
                }
                final BatchRunner.Pass pass = outcome.pass();
                final Prediction prediction = Predictions.of(model, p.request(), p.valid(), outcome.output(), pass.endUs());
                final long handedUs = Clock.nowMicros();
                forward(requestId, prediction, p.source(), StreamformerTopology.PREDICTIONS_SINK);
                final LatencyEvent latency = LatencyRecorder.event(
                        new LatencyRecorder.Origin(requestId, model.version(), p.source().topic(),
                                p.source().partition(), p.source().offset(), thread, task, pass.size()),
                        new LatencyRecorder.Times(p.source().timestamp(), p.source().receivedUs(), pass.startUs(),
                                pass.endUs(), handedUs));
                forward(requestId, latency, p.source(), StreamformerTopology.LATENCY_SINK);
                served.meters.served(latency);
            }
        } finally {
            served.release();
        }
    }

    /**
     * Runs the shadow candidate of each route on the requests its stable version served, to the shadow
     * sink only. A shadow pass that fails costs nothing but its log line: the requests were served.
     */
    private void shadow(final List<Pending> batch) {
        Map<ModelCatalog.Served, List<Pending>> byShadow = null;
        for (final Pending p : batch) {
            final ModelCatalog.Route route = catalog.route(p.request().getModel());
            final ModelCatalog.Served candidate = route == null ? null : route.shadowVersion();
            if (candidate != null && candidate != p.served()) {
                if (byShadow == null) {
                    byShadow = new IdentityHashMap<>();
                }
                byShadow.computeIfAbsent(candidate, k -> new ArrayList<>()).add(p);
            }
        }
        if (byShadow == null) {
            return;
        }
        for (final Map.Entry<ModelCatalog.Served, List<Pending>> group : byShadow.entrySet()) {
            final ModelCatalog.Served candidate = group.getKey();
            if (!candidate.retain()) {
                continue;
            }
            try {
                final List<Pending> valid = new ArrayList<>();
                final List<ValidInput> inputs = new ArrayList<>();
                for (final Pending p : group.getValue()) {
                    try {
                        final RequestValidator.Valid v = version(candidate).validator.validate(p.request());
                        valid.add(new Pending(p.source(), p.request(), candidate, v, p.bufferKey()));
                        inputs.add(v.input());
                    } catch (InvalidInputException e) {
                        LOG.debug("Shadow version {} cannot serve request {}: {}", candidate.model().version(),
                                p.request().getRequestId(), e.getMessage());
                    }
                }
                final List<BatchRunner.Outcome> outcomes = candidate.runner.run(inputs);
                for (int i = 0; i < valid.size(); i++) {
                    final Pending p = valid.get(i);
                    final BatchRunner.Outcome outcome = outcomes.get(i);
                    if (outcome.failure() == null) {
                        forward(p.request().getRequestId(), new Shadow(Predictions.of(candidate.model(), p.request(),
                                p.valid(), outcome.output(), outcome.pass().endUs())), p.source(),
                                StreamformerTopology.SHADOW_SINK);
                        // No latency event (the request was served once), but the candidate's inference
                        // histogram on /metrics, beside the stable version's.
                        candidate.meters.inference.record(outcome.pass().endUs() - outcome.pass().startUs(),
                                java.util.concurrent.TimeUnit.MICROSECONDS);
                    }
                }
            } catch (BatchRunner.EngineFailure e) {
                LOG.warn("Shadow version {} failed: {}", candidate.model().version(), e.getMessage());
            } finally {
                candidate.release();
            }
        }
    }

    private void forward(final Object key, final Object value, final Source source, final String sink) {
        forward(new org.apache.kafka.streams.processor.api.Record<>(key, value, source.timestamp()), sink);
    }

    private void forward(final org.apache.kafka.streams.processor.api.Record<Object, Object> out, final String sink) {
        if (namedSinks) {
            context.forward(out.value() instanceof Shadow s ? out.withValue(s.prediction()) : out, sink);
        } else {
            context.forward(out);
        }
    }

    /**
     * Forwards the dead letter of a record: the DeadLetter body, and the record's own headers with
     * Kafka Streams' dead-letter headers (KIP-1034) added, so Kafka's tooling reads it too.
     */
    private void deadLetter(final ServingMetrics.Model meters, final Source s, final String requestId,
            final ErrorKind kind, final RuntimeException cause) {
        final String message = kind == ErrorKind.INFERENCE ? "inference failed: " + cause.getMessage() : cause.getMessage();
        meters.deadLetters.get(kind).increment();
        final DeadLetter letter = DeadLetters.of(s.topic(), s.partition(), s.offset(), requestId, s.key(), s.value(),
                kind, message);
        forward(new org.apache.kafka.streams.processor.api.Record<>(s.key(), letter, s.timestamp(),
                DeadLetters.headers(s.headers(), s.topic(), s.partition(), s.offset(), cause, message)),
                StreamformerTopology.DEAD_LETTER_SINK);
    }

    @Override
    public void close() {
        if (attached) {
            // The task's buffered requests move with the task to its next owner.
            for (final Pending p : pending) {
                (p.served() == null ? defaultMeters() : p.served().meters).buffered.decrementAndGet();
            }
            pending.clear();
            versions.values().forEach(TaskVersion::close);
            versions.clear();
            attached = false;
            catalog.detach();
        }
    }

    /** Where a record came from, its raw bytes and headers, and when it arrived. */
    record Source(String topic, int partition, long offset, long timestamp, byte[] key, byte[] value,
            long receivedUs, Headers headers) {
    }

    /**
     * A request on its way: routed to a version and valid for it (both null while unrouted, after a
     * restore), with its key in the batch buffer (-1 when unbuffered).
     */
    record Pending(Source source, TokenizedInput request, ModelCatalog.Served served, RequestValidator.Valid valid,
            long bufferKey) {

        /** @return this request with its key in the batch buffer */
        Pending bufferedAs(final long key) {
            return new Pending(source, request, served, valid, key);
        }
    }

    /** A shadow candidate's prediction, told apart from the served ones on the way to the shadow sink. */
    record Shadow(Prediction prediction) {
    }

    /** A task's validator and tokenizer of one version. */
    private record TaskVersion(RequestValidator validator, TaskTokenizer tokenizer) implements AutoCloseable {
        @Override
        public void close() {
            tokenizer.close();
        }
    }
}
