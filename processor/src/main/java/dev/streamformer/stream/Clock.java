package dev.streamformer.stream;

import java.time.Instant;

/** Wall-clock time in microseconds since the Unix epoch, the unit of the latency events. */
final class Clock {

    private Clock() {
    }

    /** @return now, in microseconds since the epoch */
    static long nowMicros() {
        final Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000;
    }
}
