package dev.streamformer.stream;

import java.util.List;
import java.util.Objects;

import dev.streamformer.schemas.DeadLetter;
import dev.streamformer.schemas.LatencyEvent;
import dev.streamformer.schemas.Prediction;

/**
 * What the inference step made of one request, under the request's own key: it was served (a
 * prediction and its latency event), it could not be served (a dead letter saying why), or a shadow
 * candidate ran beside it (the candidate's prediction; the request was served once as well).
 * {@link InferenceOutputs} splits a stream of results into typed streams.
 *
 * @param kind which of the three it is
 * @param prediction the served prediction, or the shadow candidate's; null for a dead letter
 * @param latency the served request's latency event; null otherwise
 * @param deadLetter why the request was not served, with its original bytes; null otherwise
 */
public record InferenceResult(Kind kind, Prediction prediction, LatencyEvent latency, DeadLetter deadLetter) {

    /** The three kinds of result. */
    public enum Kind {
        /** Served: {@link #prediction()} and {@link #latency()}. */
        SERVED,
        /** Not served: {@link #deadLetter()}. */
        DEAD_LETTER,
        /** A shadow candidate's {@link #prediction()}, beside the served one. */
        SHADOW
    }

    /** Checks that the fields present are those of the kind. */
    public InferenceResult {
        Objects.requireNonNull(kind, "kind");
        final boolean ok = switch (kind) {
            case SERVED -> prediction != null && latency != null && deadLetter == null;
            case DEAD_LETTER -> prediction == null && latency == null && deadLetter != null;
            case SHADOW -> prediction != null && latency == null && deadLetter == null;
        };
        if (!ok) {
            throw new IllegalArgumentException("a " + kind + " result with prediction " + (prediction != null)
                    + ", latency " + (latency != null) + ", dead letter " + (deadLetter != null));
        }
    }

    /**
     * @param prediction the prediction
     * @param latency its latency event
     * @return a served result
     */
    public static InferenceResult served(final Prediction prediction, final LatencyEvent latency) {
        return new InferenceResult(Kind.SERVED, prediction, latency, null);
    }

    /**
     * @param deadLetter the dead letter
     * @return a result for a request that was not served
     */
    public static InferenceResult deadLetter(final DeadLetter deadLetter) {
        return new InferenceResult(Kind.DEAD_LETTER, null, null, deadLetter);
    }

    /**
     * @param prediction a shadow candidate's prediction
     * @return a shadow result
     */
    public static InferenceResult shadow(final Prediction prediction) {
        return new InferenceResult(Kind.SHADOW, prediction, null, null);
    }

    /** @return the served prediction, as a list of zero or one for {@code flatMapValues} */
    public List<Prediction> servedPrediction() {
        return kind == Kind.SERVED ? List.of(prediction) : List.of();
    }

    /** @return the latency event, as a list of zero or one */
    public List<LatencyEvent> latencyEvent() {
        return kind == Kind.SERVED ? List.of(latency) : List.of();
    }

    /** @return the dead letter, as a list of zero or one */
    public List<DeadLetter> deadLetterRecord() {
        return kind == Kind.DEAD_LETTER ? List.of(deadLetter) : List.of();
    }

    /** @return the shadow candidate's prediction, as a list of zero or one */
    public List<Prediction> shadowPrediction() {
        return kind == Kind.SHADOW ? List.of(prediction) : List.of();
    }
}
