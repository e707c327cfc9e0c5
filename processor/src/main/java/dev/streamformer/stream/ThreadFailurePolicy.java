package dev.streamformer.stream;

import java.util.ArrayDeque;
import java.util.Deque;

import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What to do when a stream thread dies. A transient failure (a broker that went away, a fenced
 * transaction, a timeout) replaces the thread, so the processor recovers by itself; its tasks
 * resume from their last commit, so nothing is lost or duplicated under exactly_once_v2. A security
 * failure (authentication, authorization) cannot heal by retrying and stops the instance, and so
 * does a storm of failures (more than {@value #MAX_FAILURES} in {@value #WINDOW_MS} ms), so that an
 * orchestrator sees the exit code.
 */
final class ThreadFailurePolicy implements StreamsUncaughtExceptionHandler {

    static final int MAX_FAILURES = 10;
    static final long WINDOW_MS = 300_000;

    private static final Logger LOG = LoggerFactory.getLogger(ThreadFailurePolicy.class);

    private final Deque<Long> failures = new ArrayDeque<>();

    @Override
    public synchronized StreamThreadExceptionResponse handle(final Throwable exception) {
        if (isSecurityFailure(exception)) {
            LOG.error("Stream thread failed on a security error; shutting the processor down: {}. Fix the credentials"
                    + " or grant the ACLs the README's security section lists, then start it again",
                    exception.toString());
            return StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        }
        final long now = System.currentTimeMillis();
        failures.addLast(now);
        while (!failures.isEmpty() && failures.peekFirst() < now - WINDOW_MS) {
            failures.removeFirst();
        }
        if (failures.size() > MAX_FAILURES) {
            LOG.error("{} stream thread failures within {} s; shutting the processor down (exit code 1, for an"
                    + " orchestrator to restart it). Last: {}; the earlier WARN lines have the others",
                    failures.size(), WINDOW_MS / 1000, exception.toString(), exception);
            return StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        }
        LOG.warn("Stream thread failed ({} of at most {} in {} s); replacing it: {}", failures.size(), MAX_FAILURES,
                WINDOW_MS / 1000, exception.toString());
        return StreamThreadExceptionResponse.REPLACE_THREAD;
    }

    private static boolean isSecurityFailure(final Throwable exception) {
        for (Throwable t = exception; t != null; t = t.getCause()) {
            if (t instanceof AuthenticationException || t instanceof AuthorizationException) {
                return true;
            }
        }
        return false;
    }
}
