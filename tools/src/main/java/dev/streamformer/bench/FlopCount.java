package dev.streamformer.bench;

import dev.streamformer.model.ModelConfig;

/** Analytic floating-point operations of one forward pass (a multiply-add counts as 2). */
public final class FlopCount {

    private FlopCount() {
    }

    /**
     * FLOPs of one sequence of a given length: the E to H projection, per layer the query, key and
     * value projections, attention scores, weighted sums, output projection and feed-forward, then
     * the pooler and the head. Embedding lookups, LayerNorm, softmax and GELU are left out (they are
     * not matrix products and are small beside them).
     *
     * @param c the config
     * @param length S, the number of tokens
     * @return the FLOPs
     */
    public static double perSequence(final ModelConfig c, final int length) {
        final double s = length;
        final double h = c.hiddenSize();
        final double kv = (double) c.numKeyValueHeads() * c.headSize();
        final double projection = c.embeddingProjection() ? 2 * s * c.embeddingSize() * h : 0;
        final double q = c.attentionSize();
        final double qkv = 2 * s * h * (q + 2 * kv);
        final double scoresAndContext = 2 * 2 * s * s * q;
        final double dense = 2 * s * h * q;
        final double ffn = 2 * 2 * s * h * c.intermediateSize();
        final double head = 2 * h * h + 2 * h * c.numLabels();
        return projection + c.numLayers() * (qkv + scoresAndContext + dense + ffn) + head;
    }
}
