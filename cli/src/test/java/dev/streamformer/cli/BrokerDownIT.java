package dev.streamformer.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Every command that talks to Kafka fails in bounded time, naming the address, when no broker answers. */
class BrokerDownIT {

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"run", "produce --sample 2", "consume", "monitor"})
    void aCommandFailsWithinItsConnectTimeoutNamingTheAddressWhenNoBrokerAnswers(final String command) {
        assertFailsNamingTheAddress(command + " -b localhost:1 -p streamformer.connect.timeout.ms=2000", 2, 8);
    }

    @Test
    void benchAgainstAnAbsentBrokerFailsAfterTheDefaultConnectTimeout() {
        assertFailsNamingTheAddress("bench pipeline -b localhost:1", 10, 16);
    }

    private static void assertFailsNamingTheAddress(final String commandLine, final int timeoutSeconds,
            final int boundSeconds) {
        final PrintStream err = System.err;
        final PrintStream out = System.out;
        final InputStream in = System.in;
        final ByteArrayOutputStream e = new ByteArrayOutputStream();
        final long start = System.nanoTime();
        final int code;
        try {
            System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
            System.setOut(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
            System.setIn(new ByteArrayInputStream(new byte[0]));
            // Nothing listens on port 1.
            code = StreamformerCli.execute(commandLine.split(" "));
        } finally {
            System.setErr(err);
            System.setOut(out);
            System.setIn(in);
        }
        final double seconds = (System.nanoTime() - start) / 1e9;
        assertThat(code).isEqualTo(1);
        assertThat(e.toString(StandardCharsets.UTF_8)).contains("error: No Kafka broker answered at localhost:1"
                + " within " + timeoutSeconds + " s: start one (streamformer broker --port 1) or point -b / bootstrap.servers at a"
                + " running cluster (streamformer.connect.timeout.ms sets this wait)");
        assertThat(seconds).as("seconds until the command gave up").isLessThan(boundSeconds);
    }
}
