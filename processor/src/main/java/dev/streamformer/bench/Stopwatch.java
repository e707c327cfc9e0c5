package dev.streamformer.bench;

import java.util.Arrays;

/** Repeats a measured action and reports the median and spread, after warm-up. */
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
     * @param warmups runs to discard
     * @param repetitions runs to time
     * @param action the work
     * @return seconds per run
     */
    static Timing time(final int warmups, final int repetitions, final Runnable action) {
        for (int i = 0; i < warmups; i++) {
            action.run();
        }
        final double[] seconds = new double[repetitions];
        for (int i = 0; i < repetitions; i++) {
            final long start = System.nanoTime();
            action.run();
            seconds[i] = (System.nanoTime() - start) / 1e9;
        }
        Arrays.sort(seconds);
        return new Timing(seconds[repetitions / 2], seconds[0], seconds[repetitions - 1]);
    }
}
