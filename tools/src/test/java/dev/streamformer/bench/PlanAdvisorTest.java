package dev.streamformer.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.streamformer.model.Activation;
import dev.streamformer.model.ModelConfig;
import dev.streamformer.model.SharingPlan;

class PlanAdvisorTest {

    @TempDir
    Path work;

    @Test
    void measuresEveryPlanOfASmallConfigAndRecommendsOneForTheGoal() throws Exception {
        final ModelConfig config = new ModelConfig(300, 16, 32, 6, 4, 4, 64, 32, 2, Activation.GELU_NEW, 1e-12, true,
                SharingPlan.NONE, List.of("ham", "spam"));
        final PlanAdvisor.Advice advice = PlanAdvisor.advise(config, 4, 16, 2, PlanAdvisor.Goal.MEMORY, work,
                System.out);
        assertThat(advice.plans()).extracting(PlanAdvisor.Plan::name).containsExactly("none", "3 groups", "2 groups",
                "all", "all + rank 4 deltas");
        assertThat(advice.plans()).allSatisfy(p -> {
            assertThat(p.latencyMs()).isPositive();
            assertThat(p.recordsPerSecond()).isPositive();
        });
        // Fewer groups, fewer stored parameters; the relaxed plan stores all's plus its deltas.
        final List<Long> parameters = advice.plans().stream().map(PlanAdvisor.Plan::uniqueParameters).toList();
        assertThat(parameters.subList(0, 4)).isSortedAccordingTo((a, b) -> Long.compare(b, a));
        assertThat(parameters.get(4)).isGreaterThan(parameters.get(3));
        assertThat(advice.plans()).extracting(PlanAdvisor.Plan::name).contains(advice.recommended());
        final Map<String, Object> json = advice.toMap();
        assertThat(json).containsKeys("cache", "plans", "recommended");
        assertThat(advice.toTable()).contains("recommended for memory");
    }

    @Test
    void theRuleOfEachGoal() {
        final PlanAdvisor.Machine m = new PlanAdvisor.Machine(2, 1L << 34, Map.of("l2", 1L << 20, "l3", 32L << 20));
        final List<PlanAdvisor.Plan> plans = List.of(
                new PlanAdvisor.Plan("none", 100, 400, "L3", 5.0, 100),
                new PlanAdvisor.Plan("2 groups", 60, 240, "L3", 4.0, 95),
                new PlanAdvisor.Plan("all", 30, 120, "L3", 6.0, 85));
        assertThat(PlanAdvisor.recommend(m, 128, plans, PlanAdvisor.Goal.LATENCY).recommended()).isEqualTo("2 groups");
        assertThat(PlanAdvisor.recommend(m, 128, plans, PlanAdvisor.Goal.THROUGHPUT).recommended()).isEqualTo("none");
        // all is 15 % below the best: the smallest within 10 % is 2 groups.
        assertThat(PlanAdvisor.recommend(m, 128, plans, PlanAdvisor.Goal.MEMORY).recommended()).isEqualTo("2 groups");
        assertThat(PlanAdvisor.fitsIn(2L << 20, m.cacheBytes())).isEqualTo("L3");
        assertThat(PlanAdvisor.fitsIn(64L << 20, m.cacheBytes())).isEqualTo("memory");
        assertThat(PlanAdvisor.bytes("32768K")).isEqualTo(32L << 20);
    }
}
