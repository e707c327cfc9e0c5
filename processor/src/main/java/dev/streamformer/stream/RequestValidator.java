package dev.streamformer.stream;

import java.util.Arrays;
import java.util.List;

import dev.streamformer.model.EncoderInput;
import dev.streamformer.model.InferenceModel;
import dev.streamformer.model.InvalidInputException;
import dev.streamformer.model.ValidInput;
import dev.streamformer.schemas.TokenizedInput;

/** Turns a decoded request into model input, or says why it cannot be served. */
final class RequestValidator {

    /**
     * A request ready for the model.
     *
     * @param input the encoder input, validated by the model
     * @param truncated whether tokens were cut to fit the model
     */
    record Valid(ValidInput input, boolean truncated) {
    }

    private final InferenceModel model;
    private final boolean truncate;

    RequestValidator(final InferenceModel model, final boolean truncate) {
        this.model = model;
        this.truncate = truncate;
    }

    /**
     * @param request the decoded request
     * @return the model input
     * @throws InvalidInputException with a message naming the fix
     */
    Valid validate(final TokenizedInput request) {
        if (request.getRequestId() == null || request.getRequestId().isBlank()) {
            throw new InvalidInputException(0, "request_id is empty: give every request a unique id");
        }
        final String wanted = request.getModel();
        if (wanted != null && !wanted.isBlank() && !wanted.equals(model.name())) {
            throw new InvalidInputException(0, "request asks for model '" + wanted + "' but this processor serves '"
                    + model.name() + "': send it to a processor that serves that model, or leave model empty");
        }
        int[] ids = toArray(request.getTokenIds());
        int[] mask = toArray(request.getAttentionMask());
        int[] segments = toArray(request.getSegmentIds());
        final int max = model.config().maxPositions();
        boolean truncated = false;
        if (truncate && ids.length > max) {
            ids = Arrays.copyOf(ids, max);
            mask = mask == null || mask.length != request.getTokenIds().size() ? mask : Arrays.copyOf(mask, max);
            segments = segments == null || segments.length != request.getTokenIds().size()
                    ? segments : Arrays.copyOf(segments, max);
            truncated = true;
        }
        return new Valid(model.validate(new EncoderInput(ids, mask, segments)), truncated);
    }

    private static int[] toArray(final List<Integer> values) {
        if (values == null) {
            return null;
        }
        final int[] out = new int[values.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = values.get(i);
        }
        return out;
    }
}
