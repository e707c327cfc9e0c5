package dev.streamformer.compress;

/** Row-major float helpers for the compression steps. */
final class Tensors {

    private Tensors() {
    }

    /** Keeps the given rows of a [rows, cols] matrix (or entries of a vector when cols is 1). */
    static float[] rows(final float[] values, final int cols, final int[] keep) {
        final float[] out = new float[keep.length * cols];
        for (int r = 0; r < keep.length; r++) {
            System.arraycopy(values, keep[r] * cols, out, r * cols, cols);
        }
        return out;
    }

    /** Keeps the given columns of a [rows, cols] matrix. */
    static float[] columns(final float[] values, final int rows, final int cols, final int[] keep) {
        final float[] out = new float[rows * keep.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < keep.length; c++) {
                out[r * keep.length + c] = values[r * cols + keep[c]];
            }
        }
        return out;
    }
}
