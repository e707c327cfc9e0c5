package dev.streamformer.model;

import java.util.List;

/**
 * A validated batch padded to its longest sequence, as flat row-major arrays ready for the engine.
 *
 * @param size B, the number of sequences
 * @param length S, the padded length
 * @param tokenIds B x S ids, 0 in padding
 * @param segmentIds B x S segment ids
 * @param mask B x S, 1 for real tokens, 0 for padding
 * @param padded whether any position is masked out
 */
public record EncoderBatch(int size, int length, long[] tokenIds, long[] segmentIds, float[] mask, boolean padded) {

    /**
     * Validates and pads a batch.
     *
     * @param config the model config that bounds ids and lengths
     * @param inputs the sequences
     * @return the batch
     * @throws InvalidInputException naming the first bad sequence and the fix
     */
    public static EncoderBatch of(final ModelConfig config, final List<EncoderInput> inputs) {
        if (inputs.isEmpty()) {
            throw new InvalidInputException(-1, "The batch is empty: pass at least one sequence");
        }
        for (int i = 0; i < inputs.size(); i++) {
            validate(config, i, inputs.get(i));
        }
        return pad(inputs);
    }

    /**
     * Pads sequences already validated against the model.
     *
     * @param inputs the sequences, at least one
     * @return the batch
     */
    static EncoderBatch pad(final List<EncoderInput> inputs) {
        int longest = 0;
        for (final EncoderInput in : inputs) {
            longest = Math.max(longest, in.length());
        }
        final int b = inputs.size();
        final long[] ids = new long[b * longest];
        final long[] segments = new long[b * longest];
        final float[] mask = new float[b * longest];
        boolean padded = false;
        for (int i = 0; i < b; i++) {
            final EncoderInput in = inputs.get(i);
            for (int j = 0; j < in.length(); j++) {
                final int k = i * longest + j;
                ids[k] = in.tokenIds()[j];
                segments[k] = in.segmentIds() == null ? 0 : in.segmentIds()[j];
                mask[k] = in.attentionMask() == null ? 1f : in.attentionMask()[j];
                padded |= mask[k] == 0f;
            }
            padded |= in.length() < longest;
        }
        return new EncoderBatch(b, longest, ids, segments, mask, padded);
    }

    /**
     * Some consecutive rows of this batch, at the same padded length.
     *
     * @param from the first row
     * @param to the row after the last
     * @return the rows as a batch
     */
    public EncoderBatch rows(final int from, final int to) {
        if (from < 0 || to > size || from >= to) {
            throw new IndexOutOfBoundsException("rows [" + from + ", " + to + ") of a batch of " + size);
        }
        final float[] m = java.util.Arrays.copyOfRange(mask, from * length, to * length);
        boolean masked = false;
        for (final float v : m) {
            masked |= v == 0f;
        }
        return new EncoderBatch(to - from, length, java.util.Arrays.copyOfRange(tokenIds, from * length, to * length),
                java.util.Arrays.copyOfRange(segmentIds, from * length, to * length), m, masked);
    }

    /**
     * Checks one sequence against the config.
     *
     * @param config the model config
     * @param index its position in the batch, for the message
     * @param in the sequence
     * @throws InvalidInputException when it cannot run
     */
    public static void validate(final ModelConfig config, final int index, final EncoderInput in) {
        final String which = index < 0 ? "" : "sequence " + index + ": ";
        if (in.length() == 0) {
            throw new InvalidInputException(index,
                    which + "the token list is empty: send at least one token id ([CLS] ... [SEP])");
        }
        if (in.length() > config.maxPositions()) {
            throw new InvalidInputException(index, which + in.length()
                    + " tokens, more than max_position_embeddings=" + config.maxPositions()
                    + ": truncate it to " + config.maxPositions() + " tokens before sending");
        }
        final int[] ids = in.tokenIds();
        for (int j = 0; j < ids.length; j++) {
            if (ids[j] < 0 || ids[j] >= config.vocabSize()) {
                throw new InvalidInputException(index, which + "token id " + ids[j] + " at position " + j
                        + " is outside [0, " + config.vocabSize() + "): tokenize with this model's tokenizer");
            }
        }
        final int[] mask = in.attentionMask();
        if (mask != null) {
            if (mask.length != ids.length) {
                throw new InvalidInputException(index, which + "attention mask has " + mask.length
                        + " entries but there are " + ids.length + " token ids: send one mask entry per token, or none");
            }
            boolean any = false;
            for (int j = 0; j < mask.length; j++) {
                if (mask[j] != 0 && mask[j] != 1) {
                    throw new InvalidInputException(index, which + "attention mask entry " + mask[j]
                            + " at position " + j + " is not 0 or 1");
                }
                any |= mask[j] == 1;
            }
            if (!any) {
                throw new InvalidInputException(index, which + "attention mask is all zeros: mark real tokens with 1");
            }
        }
        final int[] segments = in.segmentIds();
        if (segments != null) {
            if (segments.length != ids.length) {
                throw new InvalidInputException(index, which + segments.length + " segment ids for "
                        + ids.length + " token ids: send one segment id per token, or none");
            }
            for (int j = 0; j < segments.length; j++) {
                if (segments[j] < 0 || segments[j] >= config.typeVocabSize()) {
                    throw new InvalidInputException(index, which + "segment id " + segments[j] + " at position " + j
                            + " is outside [0, " + config.typeVocabSize() + ")");
                }
            }
        }
    }
}
