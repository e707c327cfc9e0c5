package dev.streamformer.stream;

import java.time.Instant;
import java.util.List;

import dev.streamformer.model.InferenceModel;
import dev.streamformer.model.ModelOutput;
import dev.streamformer.schemas.Prediction;
import dev.streamformer.schemas.TokenizedInput;

/** Builds the prediction record of a served request. */
final class Predictions {

    private Predictions() {
    }

    /**
     * @param model the model that served it
     * @param request the request
     * @param valid the request as the model ran it
     * @param outcome the model's output, the pass that produced it, and the layers it ran
     * @return the prediction
     */
    static Prediction of(final InferenceModel model, final TokenizedInput request, final RequestValidator.Valid valid,
            final BatchRunner.Outcome outcome) {
        final ModelOutput output = outcome.output();
        final List<String> labels = model.config().labels();
        final int best = output.argmax();
        return Prediction.newBuilder()
                .setRequestId(request.getRequestId())
                .setModelName(model.name())
                .setModelVersion(model.version())
                .setLabel(labels.get(best))
                .setLabelIndex(best)
                .setProbabilities(output.byLabel(labels))
                .setNumTokens(valid.input().input().length())
                .setTruncated(valid.truncated())
                .setCreatedAt(request.getCreatedAt())
                .setPredictedAt(Instant.ofEpochMilli(outcome.pass().endUs() / 1_000))
                .setExitLayer(outcome.layers())
                .build();
    }
}
