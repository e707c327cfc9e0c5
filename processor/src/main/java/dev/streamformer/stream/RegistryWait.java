package dev.streamformer.stream;

import java.util.function.Supplier;

import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.serialization.Serializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.streamformer.schemas.wire.RegistryUnavailableException;

/**
 * Calls that need the schema registry, retried while it does not answer. The record is not at
 * fault, so nothing is dead-lettered for it: the stream thread waits and tries again (100 ms,
 * doubling to 5 s), says so in the log every 10 s and on /metrics
 * ({@code streamformer_schema_registry_failures_total}, {@code streamformer_schema_registry_waiting}),
 * and goes on once the registry answers. Ids and schemas are cached, so only a schema not seen
 * since the start waits.
 */
final class RegistryWait {

    private static final Logger LOG = LoggerFactory.getLogger(RegistryWait.class);

    private final ServingMetrics metrics;

    RegistryWait(final ServingMetrics metrics) {
        this.metrics = metrics;
    }

    /**
     * @param <T> the result type
     * @param call the call
     * @param what what waits, for the log: "the request at t-0@12"
     * @return the call's result, once the registry answered
     * @throws InterruptException when interrupted while waiting
     */
    <T> T call(final Supplier<T> call, final Supplier<String> what) {
        final long start = System.nanoTime();
        long backoffMs = 100;
        long loggedAt = 0;
        boolean waiting = false;
        try {
            while (true) {
                try {
                    final T result = call.get();
                    if (waiting) {
                        LOG.info("The schema registry answers again: {} went on after {} s", what.get(),
                                (System.nanoTime() - start) / 1_000_000_000);
                    }
                    return result;
                } catch (RegistryUnavailableException e) {
                    metrics.registryFailed();
                    final long now = System.nanoTime();
                    if (!waiting || now - loggedAt >= 10_000_000_000L) {
                        LOG.warn("{}; {} needs it: this stream thread waits and tries again (waiting {} s so far;"
                                + " nothing is dead-lettered for it)", e.getMessage(), what.get(), (now - start) / 1_000_000_000);
                        loggedAt = now;
                    }
                    if (!waiting) {
                        waiting = true;
                        metrics.registryWaiting().incrementAndGet();
                    }
                    sleep(backoffMs);
                    backoffMs = Math.min(backoffMs * 2, 5_000);
                }
            }
        } finally {
            if (waiting) {
                metrics.registryWaiting().decrementAndGet();
            }
        }
    }

    /**
     * @param <T> the record type
     * @param serializer a serializer that may call the registry
     * @return the serializer, waiting for the registry instead of failing the stream thread
     */
    <T> Serializer<T> serializer(final Serializer<T> serializer) {
        return (topic, record) -> call(() -> serializer.serialize(topic, record), () -> "a record for " + topic);
    }

    private static void sleep(final long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptException(e);
        }
    }
}
