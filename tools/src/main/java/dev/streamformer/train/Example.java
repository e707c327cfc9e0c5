package dev.streamformer.train;

/**
 * One tokenized, labelled training or evaluation example.
 *
 * @param id where it came from (corpus id)
 * @param tokenIds the token ids, [CLS] first
 * @param label the class index
 */
public record Example(String id, int[] tokenIds, int label) {
}
