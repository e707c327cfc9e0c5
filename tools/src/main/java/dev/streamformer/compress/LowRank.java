package dev.streamformer.compress;

/**
 * Truncated singular value decomposition of a matrix as two factors, M ~ B A with B [rows, r] and
 * A [r, columns]: the best rank-r approximation in the Frobenius norm (Eckart-Young). Computed from
 * the eigenvectors of the smaller Gram matrix (M^T M or M M^T) by cyclic Jacobi rotations in
 * double precision; the factors are projections of M onto those eigenvectors, so at full rank
 * B A reproduces M up to rounding whatever the precision of the eigenvalues. The singular values
 * are split evenly between the factors (B = U S^1/2, A = S^1/2 V^T), so that neither starts much
 * larger than the other when they are fine-tuned.
 */
public final class LowRank {

    private static final int MAX_SWEEPS = 60;

    private LowRank() {
    }

    /**
     * The two factors of a rank-r approximation.
     *
     * @param b [rows, rank], row-major
     * @param a [rank, columns], row-major
     * @param rank r
     * @param singularValues the r largest singular values, descending
     */
    public record Factors(float[] b, float[] a, int rank, double[] singularValues) {
    }

    /**
     * Factors a matrix.
     *
     * @param m the matrix, row-major
     * @param rows its rows
     * @param columns its columns
     * @param rank r, at most min(rows, columns)
     * @return B and A with B A the best rank-r approximation of M
     */
    public static Factors truncated(final float[] m, final int rows, final int columns, final int rank) {
        if (rank < 1 || rank > Math.min(rows, columns)) {
            throw new IllegalArgumentException("rank " + rank + " must be in 1.." + Math.min(rows, columns)
                    + " for a " + rows + " x " + columns + " matrix");
        }
        final boolean wide = rows < columns;
        final int n = wide ? rows : columns;
        // Gram matrix of the smaller side: G = M^T M (n = columns) or M M^T (n = rows).
        final double[] gram = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = i; j < n; j++) {
                double sum = 0;
                if (wide) {
                    for (int k = 0; k < columns; k++) {
                        sum += (double) m[i * columns + k] * m[j * columns + k];
                    }
                } else {
                    for (int k = 0; k < rows; k++) {
                        sum += (double) m[k * columns + i] * m[k * columns + j];
                    }
                }
                gram[i * n + j] = sum;
                gram[j * n + i] = sum;
            }
        }
        final double[] vectors = new double[n * n];
        final double[] values = jacobi(gram, n, vectors);
        final Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, (x, y) -> Double.compare(values[y], values[x]));
        final double[] singular = new double[rank];
        final float[] b = new float[rows * rank];
        final float[] a = new float[rank * columns];
        for (int r = 0; r < rank; r++) {
            final int e = order[r];
            final double s = Math.sqrt(Math.max(0, values[e]));
            singular[r] = s;
            // With a zero singular value the projection is zero; keep it unscaled rather than divide by 0.
            final double split = s > 1e-12 ? Math.sqrt(s) : 1;
            if (wide) {
                // M = U S V^T with U the eigenvectors of M M^T: B = U S^1/2, A = S^-1/2 U^T M.
                for (int i = 0; i < rows; i++) {
                    b[i * rank + r] = (float) (vectors[i * n + e] * split);
                }
                for (int j = 0; j < columns; j++) {
                    double sum = 0;
                    for (int i = 0; i < rows; i++) {
                        sum += vectors[i * n + e] * m[i * columns + j];
                    }
                    a[r * columns + j] = (float) (sum / split);
                }
            } else {
                // V the eigenvectors of M^T M: B = M V S^-1/2, A = S^1/2 V^T.
                for (int i = 0; i < rows; i++) {
                    double sum = 0;
                    for (int j = 0; j < columns; j++) {
                        sum += (double) m[i * columns + j] * vectors[j * n + e];
                    }
                    b[i * rank + r] = (float) (sum / split);
                }
                for (int j = 0; j < columns; j++) {
                    a[r * columns + j] = (float) (vectors[j * n + e] * split);
                }
            }
        }
        return new Factors(b, a, rank, singular);
    }

    /**
     * Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations.
     *
     * @param s the matrix, n x n, overwritten
     * @param n its size
     * @param vectors receives the eigenvectors as columns
     * @return the eigenvalues, in the order of the columns
     */
    static double[] jacobi(final double[] s, final int n, final double[] vectors) {
        java.util.Arrays.fill(vectors, 0);
        for (int i = 0; i < n; i++) {
            vectors[i * n + i] = 1;
        }
        double total = 0;
        for (int i = 0; i < n; i++) {
            total += Math.abs(s[i * n + i]);
        }
        for (int sweep = 0; sweep < MAX_SWEEPS; sweep++) {
            double off = 0;
            for (int p = 0; p < n; p++) {
                for (int q = p + 1; q < n; q++) {
                    off += s[p * n + q] * s[p * n + q];
                }
            }
            if (off <= 1e-30 * Math.max(1, total * total)) {
                break;
            }
            for (int p = 0; p < n - 1; p++) {
                for (int q = p + 1; q < n; q++) {
                    final double apq = s[p * n + q];
                    if (Math.abs(apq) < 1e-300) {
                        continue;
                    }
                    final double app = s[p * n + p];
                    final double aqq = s[q * n + q];
                    final double theta = (aqq - app) / (2 * apq);
                    final double t = Math.signum(theta == 0 ? 1 : theta)
                            / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
                    final double c = 1 / Math.sqrt(t * t + 1);
                    final double sn = t * c;
                    for (int k = 0; k < n; k++) {
                        final double skp = s[k * n + p];
                        final double skq = s[k * n + q];
                        s[k * n + p] = c * skp - sn * skq;
                        s[k * n + q] = sn * skp + c * skq;
                    }
                    for (int k = 0; k < n; k++) {
                        final double spk = s[p * n + k];
                        final double sqk = s[q * n + k];
                        s[p * n + k] = c * spk - sn * sqk;
                        s[q * n + k] = sn * spk + c * sqk;
                    }
                    for (int k = 0; k < n; k++) {
                        final double vkp = vectors[k * n + p];
                        final double vkq = vectors[k * n + q];
                        vectors[k * n + p] = c * vkp - sn * vkq;
                        vectors[k * n + q] = sn * vkp + c * vkq;
                    }
                }
            }
        }
        final double[] values = new double[n];
        for (int i = 0; i < n; i++) {
            values[i] = s[i * n + i];
        }
        return values;
    }
}
