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

    /** Every fault of the run has its recovery time measured (the figures are in docs/FAULTS.md). */
    @Test
    @Timeout(600)
    void processorKilledThreeTimesAndBrokerRestartedExactlyOnce() throws Exception {
        final FaultSuite.Report r = suite.crash(true);
        assertThat(r.faults()).anyMatch(f -> f.startsWith("broker SIGKILL")).filteredOn(f -> f.startsWith("processor"))
                .hasSize(3);
        assertThat(r.exactlyOnce()).as(r.toLine()).isTrue();
        assertThat(r.recoveries()).as(r.toLine()).filteredOn(x -> x.fault().startsWith("processor")).hasSize(3)
                .allMatch(x -> x.firstSeconds() > 0);
    }

    /**
     * Three brokers, replication 3, min.insync.replicas 2: the leader of a request partition killed,
     * the processor killed while another broker is down with a new model version published between,
     * a rolling restart; every request once, the new version served after the kill, each fault's
     * recovery measured. The stream threads joined the group as static members named after the
     * instance (what brings a restarted processor back in seconds; docs/FAULTS.md has the figures).
     * The first start, on a new cluster, logs no ERROR.
     */
    @Test
    @Timeout(900)
    void onThreeBrokersLeaderKillsARollingRestartAndAModelReleaseLoseNothing() throws Exception {
        java.nio.file.Files.createDirectories(tmp.resolve("three"));
        final FaultSuite three = new FaultSuite(new FaultSuite.Settings(tmp.resolve("three"), tmp.resolve("model"),
                4_000, 40, 1, Duration.ofSeconds(30), 23), System.out);
        final FaultSuite.Report r = three.cluster();
        assertThat(r.faults()).as(r.toLine()).anyMatch(f -> f.contains("leader of cluster-requests-0) SIGKILL"))
                .anyMatch(f -> f.startsWith("processor 0 SIGKILL while node")).anyMatch(f -> f.startsWith("model version"))
                .filteredOn(f -> f.startsWith("rolling restart")).hasSize(3);
        assertThat(r.exactlyOnce()).as(r.toLine()).isTrue();
        assertThat(r.modelVersions()).as(r.toLine()).hasSize(2);
        assertThat(r.recoveries()).as(r.toLine()).hasSize(5).allMatch(x -> !Double.isNaN(x.everyPartitionSeconds()));
        final java.util.List<String> log = java.nio.file.Files.readAllLines(tmp.resolve("three/cluster/processor-0.log"));
        final int running = java.util.stream.IntStream.range(0, log.size())
                .filter(i -> log.get(i).contains("-> RUNNING")).findFirst().orElseThrow();
        assertThat(log.subList(0, running)).as("a healthy first start on a new cluster (topics created, the shadow"
                + " topic among them) logs no ERROR").noneMatch(l -> l.contains(" ERROR "));
        final java.util.List<String> names = log.stream().filter(l -> l.contains("Static group membership as instance"))
                .map(l -> l.replaceAll(".*as instance (\\S+) .*", "$1")).toList();
        assertThat(names).as("both starts of the processor join the group as a static member").hasSize(2);
        assertThat(names.get(1)).as("the restarted processor joins under the name it had").isEqualTo(names.get(0));
    }

    /**
     * Early exit on: a model with exit heads whose records leave after a layer or two (patience:2 of 3
     * layers), its batches shrinking layer by layer; SIGKILLs of the processor and a broker restart lose
     * and duplicate nothing.
     */
    @Test
    @Timeout(600)
    void withEarlyExitTheProcessorKilledThreeTimesStillServesExactlyOnce() throws Exception {
        final Path exits = tmp.resolve("model-exits");
        dev.streamformer.model.Checkpoint.random(new dev.streamformer.model.ModelConfig(500, 16, 32, 3, 4, 4, 64, 64, 2,
                dev.streamformer.model.Activation.GELU_NEW, 1e-12, true, dev.streamformer.model.SharingPlan.ALL,
                java.util.List.of("ham", "spam")).withExits(dev.streamformer.model.ExitHeads.PER_LAYER), 7).save(exits);
        dev.streamformer.model.ExitPolicy.parse("patience:2").write(exits);
        java.nio.file.Files.createDirectories(tmp.resolve("exits"));
        final FaultSuite withExits = new FaultSuite(new FaultSuite.Settings(tmp.resolve("exits"), exits, 2_000, 50, 3,
                Duration.ofSeconds(30), 19), System.out);
        final FaultSuite.Report r = withExits.crash(true);
        assertThat(r.faults()).filteredOn(f -> f.startsWith("processor")).hasSize(3);
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
