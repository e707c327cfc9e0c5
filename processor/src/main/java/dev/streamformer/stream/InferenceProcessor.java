package dev.streamformer.stream;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.streamformer.model.EncoderInput;
import dev.streamformer.model.InferenceModel;
import dev.streamformer.model.InvalidInputException;
import dev.streamformer.model.ModelOutput;
import dev.streamformer.schemas.DeadLetter;
import dev.streamformer.schemas.ErrorKind;
import dev.streamformer.schemas.LatencyEvent;
import dev.streamformer.schemas.Prediction;
import dev.streamformer.schemas.TokenizedInput;
import dev.streamformer.schemas.serde.SingleObjectSerde;
import dev.streamformer.schemas.serde.StreamformerSerdes;

/**
 * Decodes, validates and predicts each request on the model shared by every task of this JVM, and
 * forwards a prediction and a latency event, or a dead letter, to the sinks of the topology. A
 * failure for one record never stops the processor: it becomes that record's dead letter.
 */
final class InferenceProcessor implements Processor<byte[], byte[], Object, Object> {

    private static final Logger LOG = LoggerFactory.getLogger(InferenceProcessor.class);

    private final ModelRegistry registry;
    private final String modelDir;
    private final boolean truncate;
    private final SingleObjectSerde<TokenizedInput> requests = StreamformerSerdes.tokenizedInput();

    private ProcessorContext<Object, Object> context;
    private ModelRegistry.Lease lease;
    private InferenceModel model;
    private RequestValidator validator;

    InferenceProcessor(final ModelRegistry registry, final String modelDir, final boolean truncate) {
        this.registry = registry;
        this.modelDir = modelDir;
        this.truncate = truncate;
    }

    @Override
    public void init(final ProcessorContext<Object, Object> processorContext) {
        this.context = processorContext;
        this.lease = registry.acquire(modelDir);
        this.model = lease.model();
        this.validator = new RequestValidator(model, truncate);
    }

    @Override
    public void process(final org.apache.kafka.streams.processor.api.Record<byte[], byte[]> record) {
        final long receivedUs = Clock.nowMicros();
        final RecordMetadata meta = context.recordMetadata().orElseThrow();
        final Source source = new Source(meta.topic(), meta.partition(), meta.offset(), record.timestamp(),
                record.key(), record.value(), receivedUs);
        if (record.value() == null) {
            deadLetter(source, null, ErrorKind.DESERIALIZATION,
                    "value is null (a tombstone): produce a TokenizedInput in Avro single-object encoding");
            return;
        }
        final TokenizedInput request;
        try {
            request = requests.deserialize(meta.topic(), record.value());
        } catch (SerializationException e) {
            deadLetter(source, null, ErrorKind.DESERIALIZATION, e.getMessage());
            return;
        }
        final RequestValidator.Valid valid;
        try {
            valid = validator.validate(request);
        } catch (InvalidInputException e) {
            deadLetter(source, request.getRequestId(), ErrorKind.VALIDATION, e.getMessage());
            return;
        }
        predict(List.of(new Pending(source, request, valid)));
    }

    private void predict(final List<Pending> batch) {
        final List<EncoderInput> inputs = new ArrayList<>(batch.size());
        batch.forEach(p -> inputs.add(p.valid().input()));
        final long startUs = Clock.nowMicros();
        final List<ModelOutput> outputs;
        try {
            outputs = model.predict(inputs);
        } catch (RuntimeException e) {
            LOG.warn("Inference failed for a batch of {} requests: {}", batch.size(), e.toString());
            for (final Pending p : batch) {
                deadLetter(p.source(), p.request().getRequestId(), ErrorKind.INFERENCE,
                        "inference failed: " + e.getMessage());
            }
            return;
        }
        final long endUs = Clock.nowMicros();
        final String thread = Thread.currentThread().getName();
        final String task = context.taskId().toString();
        for (int i = 0; i < batch.size(); i++) {
            final Pending p = batch.get(i);
            final Prediction prediction = prediction(p, outputs.get(i), endUs);
            final long handedUs = Clock.nowMicros();
            context.forward(new org.apache.kafka.streams.processor.api.Record<Object, Object>(
                    p.request().getRequestId(), prediction, p.source().timestamp()), StreamformerTopology.PREDICTIONS_SINK);
            final LatencyEvent latency = LatencyRecorder.event(
                    new LatencyRecorder.Origin(p.request().getRequestId(), model.version(), p.source().topic(),
                            p.source().partition(), p.source().offset(), thread, task, batch.size()),
                    new LatencyRecorder.Times(p.source().timestamp(), p.source().receivedUs(), startUs, endUs, handedUs));
            context.forward(new org.apache.kafka.streams.processor.api.Record<Object, Object>(
                    p.request().getRequestId(), latency, p.source().timestamp()), StreamformerTopology.LATENCY_SINK);
        }
    }

    private Prediction prediction(final Pending p, final ModelOutput out, final long endUs) {
        final List<String> labels = model.config().labels();
        final Map<String, Double> probabilities = new LinkedHashMap<>();
        for (int i = 0; i < labels.size(); i++) {
            probabilities.put(labels.get(i), (double) out.probabilities()[i]);
        }
        final int best = out.argmax();
        return Prediction.newBuilder()
                .setRequestId(p.request().getRequestId())
                .setModelName(model.name())
                .setModelVersion(model.version())
                .setLabel(labels.get(best))
                .setLabelIndex(best)
                .setProbabilities(probabilities)
                .setNumTokens(p.valid().input().length())
                .setTruncated(p.valid().truncated())
                .setCreatedAt(p.request().getCreatedAt())
                .setPredictedAt(Instant.ofEpochMilli(endUs / 1_000))
                .build();
    }

    private void deadLetter(final Source s, final String requestId, final ErrorKind kind, final String message) {
        final DeadLetter letter = DeadLetters.of(s.topic(), s.partition(), s.offset(), requestId, s.key(), s.value(),
                kind, message);
        context.forward(new org.apache.kafka.streams.processor.api.Record<Object, Object>(s.key(), letter,
                s.timestamp()), StreamformerTopology.DEAD_LETTER_SINK);
    }

    @Override
    public void close() {
        if (lease != null) {
            lease.close();
            lease = null;
        }
    }

    /** Where a record came from, its raw bytes and when it arrived. */
    record Source(String topic, int partition, long offset, long timestamp, byte[] key, byte[] value,
            long receivedUs) {
    }

    /** A valid request waiting for its forward pass. */
    record Pending(Source source, TokenizedInput request, RequestValidator.Valid valid) {
    }
}
