package dev.streamformer.stream;

import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;

import dev.streamformer.model.EncoderInput;
import dev.streamformer.model.InferenceModel;
import dev.streamformer.model.InvalidInputException;
import dev.streamformer.model.ValidInput;
import dev.streamformer.schemas.TokenizedInput;
import dev.streamformer.text.TextTokenizer;

/**
 * Turns a decoded request into input of the version it was routed to, or says why it cannot be
 * served. Routing by the request's model field happened before ({@link ModelCatalog#route}).
 */
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
    private final Supplier<TextTokenizer> tokenizer;

    /**
     * @param model the served model
     * @param truncate cut token-id requests longer than the model's maximum instead of refusing them
     * @param tokenizer the model's tokenizer, for requests that carry text; asked for on the first one
     */
    RequestValidator(final InferenceModel model, final boolean truncate, final Supplier<TextTokenizer> tokenizer) {
        this.model = model;
        this.truncate = truncate;
        this.tokenizer = tokenizer;
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
        if (request.getText() != null) {
            return text(request);
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

    private Valid text(final TokenizedInput request) {
        if (!request.getTokenIds().isEmpty()) {
            throw new InvalidInputException(0, "the request carries both text and " + request.getTokenIds().size()
                    + " token_ids: send one of them (text is tokenized here with the model's own tokenizer)");
        }
        if (request.getAttentionMask() != null || request.getSegmentIds() != null) {
            throw new InvalidInputException(0, "attention_mask and segment_ids go with token_ids; a text request"
                    + " carries neither");
        }
        final TextTokenizer.Tokens tokens = tokenizer.get().tokens(request.getText());
        return new Valid(model.validate(new EncoderInput(tokens.ids(), null, null)), tokens.truncated());
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
