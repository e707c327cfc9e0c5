package dev.streamformer.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

import dev.streamformer.TinyModel;
import dev.streamformer.fault.FaultSuite;

/**
 * The short version of the fault suite (the long one is {@code streamformer soak}): broker and
 * processors are separate processes; each scenario reports what a read_committed consumer found.
 */
@Tag("integration")
class FaultSuiteIT {

    /** Kept when a test fails, with the child processes' logs (java.io.tmpdir is under target/ in the build). */
    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    static Path tmp;

    private static FaultSuite suite;

    @BeforeAll
    static void model() throws Exception {
        final Path model = tmp.resolve("model");
        TinyModel.save(model);
        suite = new FaultSuite(new FaultSuite.Settings(tmp, model, 2_000, 50, 3, Duration.ofSeconds(30), 17),
                System.out);
    }

    @Test
    @Timeout(600)
    void processorKilledThreeTimesAndBrokerRestartedExactlyOnce() throws Exception {
        final FaultSuite.Report r = suite.crash(true);
        assertThat(r.faults()).anyMatch(f -> f.startsWith("broker SIGKILL")).filteredOn(f -> f.startsWith("processor"))
                .hasSize(3);
        assertThat(r.exactlyOnce()).as(r.toLine()).isTrue();
    }

    @Test
    @Timeout(600)
    void atLeastOnceLosesNothingAndCountsDuplicates() throws Exception {
        final FaultSuite.Report r = suite.crash(false);
        assertThat(r.missing()).as(r.toLine()).isZero();
        assertThat(r.predictions()).as(r.toLine()).isEqualTo(r.produced() + r.duplicates());
    }

    @Test
    @Timeout(600)
    void secondInstanceTakesOverTheKilledOnesPartitions() throws Exception {
        final FaultSuite.Report r = suite.scaleOut();
        assertThat(r.instancesThatServed()).as(r.toLine()).isEqualTo(2);
        assertThat(r.exactlyOnce()).as(r.toLine()).isTrue();
    }

    @Test
    @Timeout(600)
    void processorRidesOutAThirtySecondBrokerOutage() throws Exception {
        final FaultSuite.Report r = suite.brokerOutage();
        assertThat(r.faults()).contains("processor never restarted");
        assertThat(r.exactlyOnce()).as(r.toLine()).isTrue();
    }

    @Test
    @Timeout(600)
    void burstFarAboveCapacityDrainsWithinABoundedHeap() throws Exception {
        final FaultSuite.Report r = suite.overload();
        assertThat(r.exactlyOnce()).as(r.toLine()).isTrue();
    }
}
