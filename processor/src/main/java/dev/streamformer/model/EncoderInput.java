package dev.streamformer.model;

/**
 * One sequence for the encoder.
 *
 * @param tokenIds token ids, each in [0, vocab_size)
 * @param attentionMask 1 to attend, 0 for padding; same length as the ids; null means all ones
 * @param segmentIds token type ids in [0, type_vocab_size); null means all zeros
 */
public record EncoderInput(int[] tokenIds, int[] attentionMask, int[] segmentIds) {

    /**
     * A sequence with no mask and no segments.
     *
     * @param tokenIds the ids
     * @return the input
     */
    public static EncoderInput of(final int... tokenIds) {
        return new EncoderInput(tokenIds, null, null);
    }

    /** @return the number of tokens */
    public int length() {
        return tokenIds == null ? 0 : tokenIds.length;
    }

    /**
     * The length bucket that batches group requests by, so a short request is not padded to the
     * longest of its batch: the power of two at or above the length, at least 16 (1-16, 17-32,
     * 33-64, ...).
     *
     * @return the bucket
     */
    public int lengthBucket() {
        return Math.max(16, Integer.highestOneBit(Math.max(1, length() - 1)) * 2);
    }
}
