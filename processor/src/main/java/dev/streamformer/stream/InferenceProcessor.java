package dev.streamformer.stream;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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

import dev.streamformer.model.EngineSettings;
import dev.streamformer.model.InferenceModel;
import dev.streamformer.model.InvalidInputException;
import dev.streamformer.schemas.DeadLetter;
import dev.streamformer.schemas.ErrorKind;
import dev.streamformer.schemas.LatencyEvent;
import dev.streamformer.schemas.Prediction;
import dev.streamformer.schemas.TokenizedInput;
import dev.streamformer.schemas.serde.SingleObjectSerde;
import dev.streamformer.schemas.serde.StreamformerSerdes;

/**
 * Routes each request: decoded once, validated once ({@link RequestValidator}), buffered into a
 * batch, run by the {@link BatchRunner} on the model shared by every task of this JVM, and forwarded
 * as a prediction and a latency event, or a dead letter, to the sinks of the topology. A failure
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

    private final ModelRegistry registry;
    private final Settings settings;
    private final Function<K, byte[]> keyBytes;
    private final boolean namedSinks;
    private final ServingMetrics metrics;
    private ServingMetrics.Model meters;
    private final int batchSize;
    private final long maxWaitMs;
    private final SingleObjectSerde<TokenizedInput> requests = StreamformerSerdes.tokenizedInput();
    private final List<Pending> pending = new ArrayList<>();

    private ProcessorContext<Object, Object> context;
    private ModelRegistry.Lease lease;
    private InferenceModel model;
    private RequestValidator validator;
    private TaskTokenizer tokenizer;
    private BatchRunner runner;
    private BatchBuffer buffer;

    /**
     * How the processor serves requests.
     *
     * @param modelDir the model directory, empty for the default model
     * @param truncate truncate too-long requests instead of dead-lettering them
     * @param batchSize requests per forward pass; 1 runs each request as it arrives, without a buffer
     * @param maxWaitMs the longest a buffered request waits for its batch to fill
     * @param engine the engine that serves, with its intra-op threads
     * @param concurrentPasses forward passes the model admits at once in this JVM, if this task loads it
     * @param lengthBuckets run each batch as one forward pass per length bucket
     * @param textMaxTokens the most tokens a text request is cut to; 0 = the model's max_position_embeddings
     */
    record Settings(String modelDir, boolean truncate, int batchSize, long maxWaitMs, EngineSettings engine,
            int concurrentPasses, boolean lengthBuckets, int textMaxTokens) {
    }

    /**
     * @param registry where to borrow the model
     * @param settings how to serve
     * @param keyBytes the request key as bytes, for its dead letter
     * @param namedSinks forward each output to the sink of its kind ({@link StreamformerTopology#build});
     *     false forwards every output to every child, which tells them apart by type
     *     ({@link StreamformerTopology#addTo})
     * @param metrics where the processor counts and times what it does
     */
    InferenceProcessor(final ModelRegistry registry, final Settings settings, final Function<K, byte[]> keyBytes,
            final boolean namedSinks, final ServingMetrics metrics) {
        this.registry = registry;
        this.settings = settings;
        this.keyBytes = keyBytes;
        this.namedSinks = namedSinks;
        this.metrics = metrics;
        this.batchSize = settings.batchSize();
        this.maxWaitMs = settings.maxWaitMs();
    }

    @Override
    public void init(final ProcessorContext<Object, Object> processorContext) {
        this.context = processorContext;
        this.lease = registry.acquire(settings.modelDir(), settings.engine(), settings.concurrentPasses());
        this.model = lease.model();
        final int maxPositions = model.config().maxPositions();
        this.tokenizer = new TaskTokenizer(settings.modelDir(), settings.textMaxTokens() > 0
                ? Math.min(settings.textMaxTokens(), maxPositions) : maxPositions);
        this.validator = new RequestValidator(model, settings.truncate(), tokenizer);
        this.meters = metrics.of(model);
        this.runner = new BatchRunner(model, lease.gate(), settings.lengthBuckets(), meters);
        if (batchSize > 1) {
            buffer = new BatchBuffer(context.getStateStore(BatchBuffer.STORE));
            for (final KeyValue<Long, Source> restored : buffer.restore()) {
                final Source s = restored.value;
                final TokenizedInput request = requests.deserialize(s.topic(), s.value());
                try {
                    pending.add(new Pending(s, request, validator.validate(request), restored.key));
                } catch (InvalidInputException e) {
                    // Valid when buffered, invalid for the model served since the restart.
                    pending.add(new Pending(s, request, null, restored.key));
                }
            }
            meters.buffered.addAndGet(pending.size());
            if (!pending.isEmpty()) {
                LOG.info("Task {} restored {} buffered requests", context.taskId(), pending.size());
            }
            context.schedule(Duration.ofMillis(Math.max(1, maxWaitMs)), PunctuationType.WALL_CLOCK_TIME,
                    now -> flushIfDue());
        }
    }

    @Override
    public void process(final org.apache.kafka.streams.processor.api.Record<K, byte[]> record) {
        final long receivedUs = Clock.nowMicros();
        meters.requests.increment();
        final RecordMetadata meta = context.recordMetadata().orElseThrow();
        final Source source = new Source(meta.topic(), meta.partition(), meta.offset(), record.timestamp(),
                record.key() == null ? null : keyBytes.apply(record.key()), record.value(), receivedUs,
                new RecordHeaders(record.headers().toArray()));
        if (record.value() == null) {
            deadLetter(source, null, ErrorKind.DESERIALIZATION, new SerializationException(
                    "value is null (a tombstone): produce a TokenizedInput in Avro single-object encoding"));
            return;
        }
        final TokenizedInput request;
        try {
            request = requests.deserialize(meta.topic(), record.value());
        } catch (SerializationException e) {
            deadLetter(source, null, ErrorKind.DESERIALIZATION, e);
            return;
        }
        final RequestValidator.Valid valid;
        try {
            valid = validator.validate(request);
        } catch (InvalidInputException e) {
            deadLetter(source, request.getRequestId(), ErrorKind.VALIDATION, e);
            return;
        }
        if (buffer == null) {
            predict(List.of(new Pending(source, request, valid, -1)));
            return;
        }
        pending.add(new Pending(source, request, valid, buffer.add(source)));
        meters.buffered.incrementAndGet();
        if (pending.size() >= batchSize) {
            flush();
        }
    }

    private void flushIfDue() {
        if (!pending.isEmpty() && Clock.nowMicros() - pending.get(0).source().receivedUs() >= maxWaitMs * 1_000) {
            flush();
        }
    }

    private void flush() {
        final List<Pending> batch = List.copyOf(pending);
        pending.clear();
        meters.buffered.addAndGet(-batch.size());
        predict(batch);
        buffer.remove(batch.stream().map(Pending::bufferKey).toList());
    }

    private void predict(final List<Pending> all) {
        final List<Pending> batch = new ArrayList<>(all.size());
        for (final Pending p : all) {
            if (p.valid() == null) {
                deadLetter(p.source(), p.request().getRequestId(), ErrorKind.VALIDATION, new InvalidInputException(0,
                        "buffered before a restart, but invalid for model " + model.name() + " " + model.version()));
            } else {
                batch.add(p);
            }
        }
        if (batch.isEmpty()) {
            return;
        }
        final List<BatchRunner.Outcome> outcomes = runner.run(batch.stream().map(p -> p.valid().input()).toList());
        final String thread = Thread.currentThread().getName();
        final String task = context.taskId().toString();
        for (int i = 0; i < batch.size(); i++) {
            final Pending p = batch.get(i);
            final BatchRunner.Outcome outcome = outcomes.get(i);
            final String requestId = p.request().getRequestId();
            if (outcome.failure() != null) {
                deadLetter(p.source(), requestId, ErrorKind.INFERENCE, outcome.failure());
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
            meters.served(latency);
        }
    }

    private void forward(final Object key, final Object value, final Source source, final String sink) {
        forward(new org.apache.kafka.streams.processor.api.Record<>(key, value, source.timestamp()), sink);
    }

    private void forward(final org.apache.kafka.streams.processor.api.Record<Object, Object> out, final String sink) {
        if (namedSinks) {
            context.forward(out, sink);
        } else {
            context.forward(out);
        }
    }

    /**
     * Forwards the dead letter of a record: the DeadLetter body, and the record's own headers with
     * Kafka Streams' dead-letter headers (KIP-1034) added, so Kafka's tooling reads it too.
     */
    private void deadLetter(final Source s, final String requestId, final ErrorKind kind, final RuntimeException cause) {
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
        if (meters != null) {
            // The task's buffered requests move with the task to its next owner.
            meters.buffered.addAndGet(-pending.size());
            pending.clear();
        }
        if (tokenizer != null) {
            tokenizer.close();
        }
        if (lease != null) {
            lease.close();
            lease = null;
        }
    }

    /** Where a record came from, its raw bytes and headers, and when it arrived. */
    record Source(String topic, int partition, long offset, long timestamp, byte[] key, byte[] value,
            long receivedUs, Headers headers) {
    }

    /** A valid request waiting for its forward pass, with its key in the batch buffer (-1 when unbuffered). */
    record Pending(Source source, TokenizedInput request, RequestValidator.Valid valid, long bufferKey) {
    }
}
