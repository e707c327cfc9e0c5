package dev.streamformer.stream;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Semaphore;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.streamformer.model.EncoderInput;
import dev.streamformer.model.ExitPolicy;
import dev.streamformer.model.InferenceModel;
import dev.streamformer.model.ModelOutput;
import dev.streamformer.model.ValidInput;

/**
 * Runs a batch of validated inputs on the shared model: one forward pass per length bucket (so a
 * short request is not padded to the longest of its batch), each through the model's gate, timed.
 *
 * <p>A failed pass does not condemn its requests. The runner first runs a one-token probe: when the
 * engine fails that too, the engine itself is broken (native resources released, out of memory)
 * and {@link EngineFailure} is thrown, which fails the stream thread so that exactly-once retries
 * the requests on a new one. Otherwise it retries the pass's requests one by one, and only those that
 * fail alone are reported as failed, each with its own reason.
 */
final class BatchRunner {

    private static final Logger LOG = LoggerFactory.getLogger(BatchRunner.class);

    /**
     * One forward pass: when it ran and how many requests it held.
     *
     * @param startUs when it started, microseconds since the epoch
     * @param endUs when it ended for this input: when the input left (early exit), else when the pass ended
     * @param size requests in the pass
     */
    record Pass(long startUs, long endUs, int size) {
    }

    /**
     * What became of one input: an output from a pass, or the reason it failed.
     *
     * @param output the output, null when it failed
     * @param pass the pass that produced it, null when it failed
     * @param failure why it failed alone, null when it succeeded
     * @param layers the layers it ran (all of them unless it left early), 0 when it failed
     */
    record Outcome(ModelOutput output, Pass pass, RuntimeException failure, int layers) {
    }

    /** The engine fails every input, a known-good probe too: not the requests' fault. */
    static final class EngineFailure extends RuntimeException {
        EngineFailure(final String message, final Throwable cause) {
            super(message, cause);
        }
    }

    private final InferenceModel model;
    private final Semaphore gate;
    private final boolean lengthBuckets;
    private final ValidInput probe;
    private final ServingMetrics.Model meters;
    private final ExitPolicy exits;
    private final int refillWidth;

    /**
     * @param model the shared model
     * @param gate admits a fixed number of passes at once across the JVM
     * @param lengthBuckets one pass per length bucket instead of one for all
     * @param meters where passes, their sizes and the gate's queue are counted
     * @param exits when a record leaves early ({@link ExitPolicy#NONE}: every layer)
     */
    BatchRunner(final InferenceModel model, final Semaphore gate, final boolean lengthBuckets,
            final ServingMetrics.Model meters, final ExitPolicy exits) {
        this(model, gate, lengthBuckets, meters, exits, 0);
    }

    /**
     * @param model the shared model
     * @param gate admits a fixed number of passes at once across the JVM
     * @param lengthBuckets one pass per length bucket instead of one for all
     * @param meters where passes, their sizes and the gate's queue are counted
     * @param exits when a record leaves early ({@link ExitPolicy#NONE}: every layer)
     * @param refillWidth rows running at once with depth-wise refill, the inputs of a pass refilling them
     *     as records leave; 0 runs a pass's inputs as one batch. Under {@link ExitPolicy#NONE} a pass
     *     is cut into batches of this many instead.
     */
    BatchRunner(final InferenceModel model, final Semaphore gate, final boolean lengthBuckets,
            final ServingMetrics.Model meters, final ExitPolicy exits, final int refillWidth) {
        this.meters = meters;
        this.exits = exits;
        this.refillWidth = refillWidth;
        this.model = model;
        this.gate = gate;
        this.lengthBuckets = lengthBuckets;
        this.probe = model.validate(EncoderInput.of(1));
    }

    /** Told of an input's outcome as soon as it is known. */
    @FunctionalInterface
    interface Done {

        /**
         * @param index the input's position
         * @param outcome its outcome
         */
        void done(int index, Outcome outcome);
    }

    /** A failure of what a {@link Done} did with an outcome: the caller's, never retried as the pass's. */
    private static final class Downstream extends RuntimeException {
        Downstream(final RuntimeException cause) {
            super(cause);
        }
    }

    /**
     * @param inputs validated inputs
     * @return one outcome per input, in order
     * @throws EngineFailure when the engine fails a probe after a failed pass
     */
    List<Outcome> run(final List<ValidInput> inputs) {
        return run(inputs, (index, outcome) -> { });
    }

    /**
     * Runs the inputs and tells of each outcome as soon as it is known: with early exit, the inputs
     * that leave after a layer before the rest run the next one. An input is told of once.
     *
     * @param inputs validated inputs
     * @param done told of each input's outcome; what it throws is rethrown, not taken for the pass's failure
     * @return one outcome per input, in order
     * @throws EngineFailure when the engine fails a probe after a failed pass
     */
    List<Outcome> run(final List<ValidInput> inputs, final Done done) {
        final Outcome[] outcomes = new Outcome[inputs.size()];
        for (final List<Integer> positions : passes(inputs)) {
            final List<ValidInput> pass = new ArrayList<>(positions.size());
            positions.forEach(i -> pass.add(inputs.get(i)));
            try {
                timed(pass, (k, outcome) -> {
                    outcomes[positions.get(k)] = outcome;
                    try {
                        done.done(positions.get(k), outcome);
                    } catch (RuntimeException e) {
                        throw new Downstream(e);
                    }
                });
            } catch (Downstream e) {
                throw (RuntimeException) e.getCause();
            } catch (RuntimeException e) {
                checkEngine(pass.size(), e);
                LOG.warn("A forward pass of {} requests failed ({}); the engine answers a probe, so retrying them one by one",
                        pass.size(), e.toString());
                for (final int i : positions) {
                    if (outcomes[i] == null) {
                        outcomes[i] = alone(inputs.get(i));
                        done.done(i, outcomes[i]);
                    }
                }
            }
        }
        return List.of(outcomes);
    }

    private Outcome alone(final ValidInput input) {
        try {
            return timed(List.of(input), (k, o) -> { }).get(0);
        } catch (RuntimeException e) {
            return new Outcome(null, null, e, 0);
        }
    }

    private void checkEngine(final int passSize, final RuntimeException failure) {
        try {
            timed(List.of(probe), (k, o) -> { });
        } catch (RuntimeException probeFailure) {
            failure.addSuppressed(probeFailure);
            throw new EngineFailure("The " + model.engine() + " engine failed a pass of " + passSize
                    + " requests and a one-token probe: the engine, not the requests, is at fault; failing the stream"
                    + " thread so that its requests are retried. Cause: " + failure.getMessage(), failure);
        }
    }

    /** Runs one pass under the gate, telling of each outcome as its input leaves. */
    private List<Outcome> timed(final List<ValidInput> pass, final Done done) {
        meters.gateWaiting.incrementAndGet();
        try {
            gate.acquireUninterruptibly();
        } finally {
            meters.gateWaiting.decrementAndGet();
        }
        meters.passes.increment();
        meters.batchSize.record(pass.size());
        try {
            final long startUs = Clock.nowMicros();
            final Outcome[] outcomes = new Outcome[pass.size()];
            model.run(pass, exits, refillWidth > 0 ? refillWidth : pass.size(), (exit, k) -> {
                outcomes[k] = new Outcome(exit.output(), new Pass(startUs, Clock.nowMicros(), pass.size()), null,
                        exit.layers());
                done.done(k, outcomes[k]);
            });
            return List.of(outcomes);
        } finally {
            gate.release();
        }
    }

    /** @return the positions of the inputs of each pass: one per length bucket, or one for all */
    private Collection<List<Integer>> passes(final List<ValidInput> inputs) {
        final Map<Integer, List<Integer>> byBucket = new TreeMap<>();
        for (int i = 0; i < inputs.size(); i++) {
            final int bucket = lengthBuckets ? inputs.get(i).input().lengthBucket() : 0;
            byBucket.computeIfAbsent(bucket, k -> new ArrayList<>()).add(i);
        }
        if (refillWidth == 0 || exits.kind() != ExitPolicy.Kind.NONE) {
            return byBucket.values();
        }
        // Every record runs every layer: nothing to refill, so batches of the width.
        final List<List<Integer>> batches = new ArrayList<>();
        for (final List<Integer> bucket : byBucket.values()) {
            for (int from = 0; from < bucket.size(); from += refillWidth) {
                batches.add(bucket.subList(from, Math.min(bucket.size(), from + refillWidth)));
            }
        }
        return batches;
    }
}
