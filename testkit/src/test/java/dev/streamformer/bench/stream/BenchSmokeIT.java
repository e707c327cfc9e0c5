package dev.streamformer.bench.stream;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import dev.streamformer.model.DefaultModel;
import dev.streamformer.testkit.EmbeddedKafka;

/**
 * A tiny run of the pipeline suite: it only checks that the benchmark runs and reports every
 * figure, never how fast anything is (figures come from {@code streamformer bench}).
 */
@Tag("integration")
class BenchSmokeIT {

    @TempDir
    Path tmp;

    @Test
    @Timeout(300)
    @SuppressWarnings("unchecked")
    void pipelineSuiteReportsEveryRunRatioAndChart() throws Exception {
        final BenchSuites.Plan plan = new BenchSuites.Plan(false, true, false, 1, List.of(8), 16, 1, 16, 8, 20,
                List.of(1), 1, MemoryBenchmark.GLIBC_MALLOC, 1, dev.streamformer.model.InferenceEngine.DEFAULT);
        try (EmbeddedKafka kafka = EmbeddedKafka.start(tmp.resolve("kafka"), 0, Map.of())) {
            final Map<String, Object> json = new BenchSuites(plan, DefaultModel.directory(), tmp.resolve("work"),
                    System.out).run(kafka.bootstrapServers(), tmp.resolve("out"));
            final Map<String, Object> pipeline = (Map<String, Object>) json.get("pipeline_suite");
            final List<PipelineBenchmark.Run> runs = (List<PipelineBenchmark.Run>) pipeline.get("runs");
            assertThat(runs).extracting(r -> r.settings().name()).anyMatch(n -> n.startsWith("default"))
                    .anyMatch(n -> n.startsWith("baseline a")).anyMatch(n -> n.contains("paced"))
                    .anyMatch(n -> n.startsWith("1x1"));
            for (final PipelineBenchmark.Run r : runs) {
                assertThat(r.missing()).as(r.settings().name()).isZero();
                assertThat(r.duplicates()).as(r.settings().name()).isZero();
                assertThat(r.recordsPerSecond()).as(r.settings().name()).isPositive();
                assertThat(r.latencyMs()).containsKeys("processing", "inference", "batch_wait",
                        PipelineBenchmark.VISIBLE);
                // A request becomes visible to a read_committed reader only after the processor handed it to Kafka.
                assertThat(r.latencyMs().get(PipelineBenchmark.VISIBLE).get("p50")).as(r.settings().name())
                        .isGreaterThanOrEqualTo(r.latencyMs().get("end_to_end").get("p50") * 0.98 - 1);
                assertThat(r.cpuShare()).containsKeys("forward passes (wall)", "idle");
            }
            assertThat(runs).extracting(r -> r.settings().name())
                    .anyMatch(n -> n.startsWith("previous default: pytorch 2x1 batch 16, commit 100 ms"));
            // The shipped model has exit heads: real mail at full depth and under its policy, alternated.
            final Map<String, Object> exits = (Map<String, Object>) json.get("exits_pipeline");
            final List<PipelineBenchmark.Run> exitRuns = (List<PipelineBenchmark.Run>) exits.get("runs");
            assertThat(exitRuns).extracting(r -> r.settings().name()).anyMatch(n -> n.contains("full depth, one graph"))
                    .anyMatch(n -> n.contains("full depth, layered")).anyMatch(n -> n.endsWith("early exit"))
                    .anyMatch(n -> n.contains("early exit, refill pool 16"));
            for (final PipelineBenchmark.Run r : exitRuns) {
                assertThat(r.missing()).as(r.settings().name()).isZero();
                assertThat(r.duplicates()).as(r.settings().name()).isZero();
                assertThat(r.meanLayersRun()).as(r.settings().name()).isBetween(1.0, 6.0);
            }
            assertThat(exitRuns).filteredOn(r -> r.settings().name().contains("early exit"))
                    .allSatisfy(r -> assertThat(r.meanLayersRun()).as("leaves early").isLessThan(6.0));
            assertThat(((Map<String, Double>) json.get("ratios")).keySet()).hasSize(8)
                    .anyMatch(k -> k.startsWith("early exit / full depth, one graph, on mail"))
                    .anyMatch(k -> k.startsWith("early exit with refill pool 16 / shrinking batches"))
                    .anyMatch(k -> k.contains(" on onnxruntime / previous default: pytorch 2x1 batch 16"))
                    .anyMatch(k -> k.startsWith("pipeline / model-only")).anyMatch(k -> k.contains("stream threads / 1"))
                    .anyMatch(k -> k.startsWith("paced p99")).anyMatch(k -> k.contains("baseline a, same threads"))
                    .anyMatch(k -> k.contains("baseline a, library defaults"));
        }
        assertThat(tmp.resolve("out/bench.json")).isNotEmptyFile();
        assertThat(Files.size(tmp.resolve("out/bench-throughput.png"))).isPositive();
        assertThat(Files.size(tmp.resolve("out/bench-latency.png"))).isPositive();
    }
}
