package dev.streamformer.schemas.serde;

import dev.streamformer.schemas.DeadLetter;
import dev.streamformer.schemas.LatencyEvent;
import dev.streamformer.schemas.Prediction;
import dev.streamformer.schemas.TokenizedInput;

/** Factory of the serdes for the four Streamformer topics. */
public final class StreamformerSerdes {

    private StreamformerSerdes() {
    }

    /** @return a serde for requests */
    public static SingleObjectSerde<TokenizedInput> tokenizedInput() {
        return new SingleObjectSerde<>(TokenizedInput.class);
    }

    /** @return a serde for predictions */
    public static SingleObjectSerde<Prediction> prediction() {
        return new SingleObjectSerde<>(Prediction.class);
    }

    /** @return a serde for latency events */
    public static SingleObjectSerde<LatencyEvent> latencyEvent() {
        return new SingleObjectSerde<>(LatencyEvent.class);
    }

    /** @return a serde for dead letters */
    public static SingleObjectSerde<DeadLetter> deadLetter() {
        return new SingleObjectSerde<>(DeadLetter.class);
    }
}
