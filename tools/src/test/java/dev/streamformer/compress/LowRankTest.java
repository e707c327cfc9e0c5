package dev.streamformer.compress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;

import org.junit.jupiter.api.Test;

class LowRankTest {

    /** Columns of a random matrix made orthonormal (Gram-Schmidt): an n x k matrix with Q^T Q = I. */
    private static double[][] orthonormal(final int n, final int k, final Random random) {
        final double[][] q = new double[k][n];
        for (int c = 0; c < k; c++) {
            for (int i = 0; i < n; i++) {
                q[c][i] = random.nextGaussian();
            }
            for (int p = 0; p < c; p++) {
                double dot = 0;
                for (int i = 0; i < n; i++) {
                    dot += q[c][i] * q[p][i];
                }
                for (int i = 0; i < n; i++) {
                    q[c][i] -= dot * q[p][i];
                }
            }
            double norm = 0;
            for (int i = 0; i < n; i++) {
                norm += q[c][i] * q[c][i];
            }
            for (int i = 0; i < n; i++) {
                q[c][i] /= Math.sqrt(norm);
            }
        }
        return q;
    }

    /** U diag(s) V^T with known singular values s. */
    private static float[] withSingularValues(final int rows, final int columns, final double[] s, final long seed) {
        final Random random = new Random(seed);
        final double[][] u = orthonormal(rows, s.length, random);
        final double[][] v = orthonormal(columns, s.length, random);
        final float[] m = new float[rows * columns];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < columns; j++) {
                double sum = 0;
                for (int k = 0; k < s.length; k++) {
                    sum += u[k][i] * s[k] * v[k][j];
                }
                m[i * columns + j] = (float) sum;
            }
        }
        return m;
    }

    private static double residual(final float[] m, final LowRank.Factors f, final int rows, final int columns) {
        double sum = 0;
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < columns; j++) {
                double p = 0;
                for (int k = 0; k < f.rank(); k++) {
                    p += f.b()[i * f.rank() + k] * f.a()[k * columns + j];
                }
                sum += (m[i * columns + j] - p) * (m[i * columns + j] - p);
            }
        }
        return Math.sqrt(sum);
    }

    @Test
    void findsTheSingularValuesAndTheBestApproximationOfEachRank() {
        final double[] s = {9, 5, 3, 2, 1, 0.5};
        for (final int[] shape : new int[][] {{12, 6}, {6, 12}, {20, 9}}) {
            final float[] m = withSingularValues(shape[0], shape[1], s, shape[0] * 31L + shape[1]);
            for (int rank = 1; rank <= s.length; rank++) {
                final LowRank.Factors f = LowRank.truncated(m, shape[0], shape[1], rank);
                for (int k = 0; k < rank; k++) {
                    assertThat(f.singularValues()[k]).as("singular value %d of %dx%d", k, shape[0], shape[1])
                            .isCloseTo(s[k], within(1e-4));
                }
                double tail = 0;
                for (int k = rank; k < s.length; k++) {
                    tail += s[k] * s[k];
                }
                // Eckart-Young: the best rank-r error is the norm of the singular values left out.
                assertThat(residual(m, f, shape[0], shape[1])).as("rank %d of %dx%d", rank, shape[0], shape[1])
                        .isCloseTo(Math.sqrt(tail), within(1e-4));
            }
        }
    }

    @Test
    void fullRankReproducesAnyMatrixAndZeroStaysZero() {
        final Random random = new Random(3);
        final float[] m = new float[10 * 7];
        for (int i = 0; i < m.length; i++) {
            m[i] = (float) random.nextGaussian();
        }
        assertThat(residual(m, LowRank.truncated(m, 10, 7, 7), 10, 7)).isLessThan(1e-5);
        final LowRank.Factors zero = LowRank.truncated(new float[5 * 4], 5, 4, 4);
        assertThat(residual(new float[5 * 4], zero, 5, 4)).isZero();
    }

    @Test
    void theFactorsShareTheSingularValuesEvenly() {
        final float[] m = withSingularValues(8, 8, new double[] {16, 4}, 5);
        final LowRank.Factors f = LowRank.truncated(m, 8, 8, 1);
        double b = 0;
        double a = 0;
        for (int i = 0; i < 8; i++) {
            b += f.b()[i] * f.b()[i];
            a += f.a()[i] * f.a()[i];
        }
        assertThat(Math.sqrt(b)).isCloseTo(4, within(1e-3));
        assertThat(Math.sqrt(a)).isCloseTo(4, within(1e-3));
    }
}
