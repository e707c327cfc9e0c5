package dev.streamformer.kafka.internals;

import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;

/**
 * Asks the cluster to describe itself before a command does anything else, so that a broker that
 * is not there fails the command within a bounded time with a message that says so, instead of a
 * client retrying in silence (or a minute later with an unrelated metadata error).
 */
public final class BrokerCheck {

    /** The setting that bounds the wait, and its default. */
    public static final String TIMEOUT_KEY = "streamformer.connect.timeout.ms";
    /** Default of {@link #TIMEOUT_KEY}. */
    public static final long DEFAULT_TIMEOUT_MS = 10_000;

    private BrokerCheck() {
    }

    /**
     * @param props all properties of the command ({@link #TIMEOUT_KEY} is read from them)
     * @return the wait they set, or the default
     */
    public static Duration timeout(final Properties props) {
        final Object v = props.get(TIMEOUT_KEY);
        try {
            return Duration.ofMillis(v == null ? DEFAULT_TIMEOUT_MS : Long.parseLong(v.toString().strip()));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(TIMEOUT_KEY + "=" + v + " is not a number of milliseconds", e);
        }
    }

    /** @return the port of the first bootstrap address, for the command that starts a broker there */
    static String port(final Object servers) {
        final String first = servers == null ? "" : servers.toString().split(",")[0].strip();
        final int colon = first.lastIndexOf(':');
        final String port = colon < 0 ? "" : first.substring(colon + 1);
        return port.matches("\\d+") ? port : "9092";
    }

    /**
     * Waits until a broker answers.
     *
     * @param clientProps client properties (bootstrap servers, security), without {@code streamformer.*} keys
     * @param timeout the longest to wait
     * @throws IllegalStateException naming the address, what happened and the fix
     */
    public static void await(final Properties clientProps, final Duration timeout) {
        final Properties p = new Properties();
        p.putAll(clientProps);
        final int ms = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, Integer.toString(ms));
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, Integer.toString(ms));
        final Object servers = p.get(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG);
        final Admin admin = Admin.create(p);
        try {
            admin.describeCluster().nodes().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException | ExecutionException e) {
            final Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
            if (cause instanceof TimeoutException || cause instanceof org.apache.kafka.common.errors.TimeoutException) {
                throw new IllegalStateException("No Kafka broker answered at " + servers + " within "
                        + timeout.toSeconds() + " s: start one (streamformer broker --port " + port(servers)
                        + ") or point -b / bootstrap.servers at a running cluster (" + TIMEOUT_KEY + " sets this wait)",
                        cause);
            }
            Throwable root = cause;
            while (root.getCause() != null && root.getCause() != root) {
                root = root.getCause();
            }
            final String detail = root == cause || root.getMessage() == null ? cause.getMessage()
                    : cause.getMessage() + ": " + root.getMessage();
            throw new IllegalStateException("Cannot reach Kafka at " + servers + ": " + detail
                    + " (check bootstrap.servers, security settings and ACLs)", cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while waiting for Kafka at " + servers, e);
        } finally {
            admin.close(Duration.ZERO);
        }
    }
}
