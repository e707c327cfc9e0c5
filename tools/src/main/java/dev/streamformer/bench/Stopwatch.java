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
     * Times actions in alternation, one run of each per repetition, starting each repetition one
     * action later (A B C, B C A, C A B, ...), so that all see the same moments of a machine whose
     * speed drifts and none always runs first.
     *
     * @param warmups runs of each to discard
     * @param repetitions runs of each to time
     * @param actions the actions
     * @return seconds per run of each action, in order
     */
    static Timing[] timeInterleaved(final int warmups, final int repetitions, final Runnable... actions) {
        return timeInterleaved(0, warmups, repetitions, actions);
    }

    /**
     * {@link #timeInterleaved(int, int, Runnable...)} with each timed run on quiet cores: a thread pool
     * that has just finished (OpenMP's, ONNX Runtime's) keeps its workers spinning for a while, and an
     * action of another pool that starts then shares the cores with them. So before each timed run the
     * cores rest {@code quietMillis}, then the action runs once untimed (its own pools wake, as in a
     * processor that calls the model back to back), then it runs timed.
     *
     * @param quietMillis the rest before each timed run, longer than any pool's spin; 0 for none
     * @param warmups runs of each to discard
     * @param repetitions runs of each to time
     * @param actions the actions
     * @return seconds per run of each action, in order
     */
    static Timing[] timeInterleaved(final long quietMillis, final int warmups, final int repetitions,
            final Runnable... actions) {
        for (int i = 0; i < warmups; i++) {
            for (final Runnable a : actions) {
                a.run();
            }
        }
        final int n = actions.length;
        final double[][] seconds = new double[n][repetitions];
        for (int i = 0; i < repetitions; i++) {
            for (int j = 0; j < n; j++) {
                final int k = (i + j) % n;
                if (quietMillis > 0) {
                    // Quiet cores, then the action's own pools awake, as they are in a busy processor.
                    pause(quietMillis);
                    actions[k].run();
                }
                final long start = System.nanoTime();
                actions[k].run();
                seconds[k][i] = (System.nanoTime() - start) / 1e9;
            }
        }
        return timings(seconds, repetitions);
    }

    private static Timing[] timings(final double[][] seconds, final int repetitions) {
        final int n = seconds.length;
        final Timing[] timings = new Timing[n];
        for (int k = 0; k < n; k++) {
            Arrays.sort(seconds[k]);
            timings[k] = new Timing(seconds[k][repetitions / 2], seconds[k][0], seconds[k][repetitions - 1]);
        }
        return timings;
    }

    private static void pause(final long millis) {
        if (millis <= 0) {
            return;
        }
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
