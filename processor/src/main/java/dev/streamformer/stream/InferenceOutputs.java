package dev.streamformer.stream;

import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Named;

import dev.streamformer.schemas.DeadLetter;
import dev.streamformer.schemas.LatencyEvent;
import dev.streamformer.schemas.Prediction;

/**
 * The results of the inference step as typed streams, each under the request's own key. Each is a
 * {@code flatMapValues} of the results, so none changes the key.
 *
 * @param <K> the request key type
 * @param predictions one per served request
 * @param latency one latency event per served request
 * @param deadLetters one per request that could not be served, with the reason and its original bytes
 * @param shadowPredictions a shadow candidate's predictions, beside the served ones (none unless a
 *     release on the models topic starts a shadow trial)
 */
public record InferenceOutputs<K>(KStream<K, Prediction> predictions, KStream<K, LatencyEvent> latency,
        KStream<K, DeadLetter> deadLetters, KStream<K, Prediction> shadowPredictions) {

    /**
     * @param <K> the request key type
     * @param results the stream out of {@link InferenceSupplier}
     * @param prefix the prefix of the four processor names (a topology's names must be unique)
     * @return the typed streams
     */
    public static <K> InferenceOutputs<K> of(final KStream<K, InferenceResult> results, final String prefix) {
        return new InferenceOutputs<>(
                results.flatMapValues(InferenceResult::servedPrediction, Named.as(prefix + "-predictions")),
                results.flatMapValues(InferenceResult::latencyEvent, Named.as(prefix + "-latency")),
                results.flatMapValues(InferenceResult::deadLetterRecord, Named.as(prefix + "-dead-letters")),
                results.flatMapValues(InferenceResult::shadowPrediction, Named.as(prefix + "-shadow")));
    }
}
