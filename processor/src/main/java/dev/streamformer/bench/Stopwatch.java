package dev.streamformer.bench;

import java.util.Arrays;

/** Repeats measured actions and reports the median and spread, after warm-up. */
final class Stopwatch {

    /**
     * Seconds per run: median, minimum and maximum.
     *
     * @param median the median
     * @param min the fastest
     * @param max the slowest
     */
    record Timing(double median, double min, double max) {
    }

    private Stopwatch() {
    }

    /**
     * Times two actions in alternation, one run of each per repetition, so that both see the same
     * moments of a machine whose speed drifts.
     *
     * @param warmups runs of each to discard
     * @param repetitions runs of each to time
     * @param first one action
     * @param second the other
     * @return seconds per run of the first and of the second
     */
    static Timing[] timeInterleaved(final int warmups, final int repetitions, final Runnable first,
            final Runnable second) {
        for (int i = 0; i < warmups; i++) {
            first.run();
            second.run();
        }
        final double[][] seconds = new double[2][repetitions];
        for (int i = 0; i < repetitions; i++) {
            for (int k = 0; k < 2; k++) {
                final long start = System.nanoTime();
                (k == 0 ? first : second).run();
                seconds[k][i] = (System.nanoTime() - start) / 1e9;
            }
        }
        final Timing[] timings = new Timing[2];
        for (int k = 0; k < 2; k++) {
            Arrays.sort(seconds[k]);
            timings[k] = new Timing(seconds[k][repetitions / 2], seconds[k][0], seconds[k][repetitions - 1]);
        }
        return timings;
    }
}
