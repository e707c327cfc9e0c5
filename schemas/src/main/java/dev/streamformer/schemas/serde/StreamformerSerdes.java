package dev.streamformer.schemas.serde;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;

import org.apache.avro.Schema;

import dev.streamformer.schemas.BufferedRequest;
import dev.streamformer.schemas.DeadLetter;
import dev.streamformer.schemas.LatencyEvent;
import dev.streamformer.schemas.LatencyStats;
import dev.streamformer.schemas.ModelRelease;
import dev.streamformer.schemas.ModelStatus;
import dev.streamformer.schemas.Prediction;
import dev.streamformer.schemas.TokenizedInput;

/** Factory of the serdes of the Streamformer topics. */
public final class StreamformerSerdes {

    private StreamformerSerdes() {
    }

    /** Where the schemas of earlier versions are kept, for readers of their records. */
    private static final String HISTORY = "/dev/streamformer/schemas/history/";

    /** @return a serde for requests; it reads requests of version 1 (token ids only) too */
    public static SingleObjectSerde<TokenizedInput> tokenizedInput() {
        return new SingleObjectSerde<>(TokenizedInput.class).registerWriterSchema(tokenizedInputV1(),
                "TokenizedInput version 1 (token ids only)");
    }

    /** @return the request schema of version 1, before requests could carry text */
    public static Schema tokenizedInputV1() {
        return History.TOKENIZED_INPUT_V1;
    }

    /** The earlier schemas, read from the class path once. */
    private static final class History {
        static final Schema TOKENIZED_INPUT_V1 = read("TokenizedInput-1.avsc");
        static final Schema PREDICTION_V1 = read("Prediction-1.avsc");
        static final Schema LATENCY_EVENT_V1 = read("LatencyEvent-1.avsc");
        static final Schema LATENCY_STATS_V1 = read("LatencyStats-1.avsc");
    }

    private static Schema read(final String file) {
        try (InputStream in = StreamformerSerdes.class.getResourceAsStream(HISTORY + file)) {
            if (in == null) {
                throw new IllegalStateException(HISTORY + file + " is missing from the class path");
            }
            return new Schema.Parser().parse(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** @return every schema of the topics, current and earlier, by a name for people */
    public static Map<String, Schema> schemas() {
        final Map<String, Schema> all = new LinkedHashMap<>();
        all.put("TokenizedInput", TokenizedInput.getClassSchema());
        all.put("TokenizedInput version 1", tokenizedInputV1());
        all.put("Prediction", Prediction.getClassSchema());
        all.put("Prediction version 1", History.PREDICTION_V1);
        all.put("LatencyEvent", LatencyEvent.getClassSchema());
        all.put("LatencyEvent version 1", History.LATENCY_EVENT_V1);
        all.put("DeadLetter", DeadLetter.getClassSchema());
        all.put("LatencyStats", LatencyStats.getClassSchema());
        all.put("LatencyStats version 1", History.LATENCY_STATS_V1);
        all.put("ModelRelease", ModelRelease.getClassSchema());
        all.put("ModelStatus", ModelStatus.getClassSchema());
        all.put("BufferedRequest", BufferedRequest.getClassSchema());
        return all;
    }

    /** @return a serde for model releases (the models topic) */
    public static SingleObjectSerde<ModelRelease> modelRelease() {
        return new SingleObjectSerde<>(ModelRelease.class);
    }

    /** @return a serde for the entries of the batch buffer (its changelog topic) */
    public static SingleObjectSerde<BufferedRequest> bufferedRequest() {
        return new SingleObjectSerde<>(BufferedRequest.class);
    }

    /** @return a serde for processor instances' status (the model status topic) */
    public static SingleObjectSerde<ModelStatus> modelStatus() {
        return new SingleObjectSerde<>(ModelStatus.class);
    }

    /** @return a serde for predictions */
    public static SingleObjectSerde<Prediction> prediction() {
        return new SingleObjectSerde<>(Prediction.class).registerWriterSchema(History.PREDICTION_V1,
                "Prediction version 1 (before exit_layer)");
    }

    /** @return a serde for latency events */
    public static SingleObjectSerde<LatencyEvent> latencyEvent() {
        return new SingleObjectSerde<>(LatencyEvent.class).registerWriterSchema(History.LATENCY_EVENT_V1,
                "LatencyEvent version 1 (before layers_run)");
    }

    /** @return a serde for dead letters */
    public static SingleObjectSerde<DeadLetter> deadLetter() {
        return new SingleObjectSerde<>(DeadLetter.class);
    }

    /** @return a serde for windowed latency statistics */
    public static SingleObjectSerde<LatencyStats> latencyStats() {
        return new SingleObjectSerde<>(LatencyStats.class).registerWriterSchema(History.LATENCY_STATS_V1,
                "LatencyStats version 1 (before layers_run_mean)");
    }
}
