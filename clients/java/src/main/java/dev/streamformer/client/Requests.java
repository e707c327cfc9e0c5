package dev.streamformer.client;

import java.time.Instant;
import java.util.Arrays;
import java.util.Map;

import dev.streamformer.schemas.TokenizedInput;

/** Builds requests: the one place a {@link TokenizedInput} is put together from token ids. */
public final class Requests {

    private Requests() {
    }

    /**
     * @param id the request id, unique per request (the key of its prediction)
     * @param tokenIds the token ids, [CLS] ... [SEP], from the served model's tokenizer
     * @return the request, created now, no mask (every token real), no metadata
     */
    public static TokenizedInput of(final String id, final int[] tokenIds) {
        return of(id, tokenIds, Map.of());
    }

    /**
     * A request that carries text: the processor tokenizes it with the model it serves (schema version 2).
     *
     * @param id the request id, unique per request (the key of its prediction)
     * @param text the text
     * @param metadata free-form strings the processor carries through untouched
     * @return the request, created now, with no token ids
     * @throws IllegalArgumentException when the text is empty or blank, which the processor refuses
     */
    public static TokenizedInput ofText(final String id, final String text, final Map<String, String> metadata) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("request " + id + ": the text is empty; the processor would refuse it"
                    + " as a VALIDATION dead letter, so it is not sent");
        }
        return TokenizedInput.newBuilder()
                .setRequestId(id)
                .setText(text)
                .setCreatedAt(Instant.now())
                .setMetadata(metadata)
                .build();
    }

    /**
     * @param id the request id, unique per request (the key of its prediction)
     * @param tokenIds the token ids, [CLS] ... [SEP], from the served model's tokenizer
     * @param metadata free-form strings the processor carries through untouched
     * @return the request, created now, no mask (every token real)
     */
    public static TokenizedInput of(final String id, final int[] tokenIds, final Map<String, String> metadata) {
        return TokenizedInput.newBuilder()
                .setRequestId(id)
                .setTokenIds(Arrays.stream(tokenIds).boxed().toList())
                .setCreatedAt(Instant.now())
                .setMetadata(metadata)
                .build();
    }
}
