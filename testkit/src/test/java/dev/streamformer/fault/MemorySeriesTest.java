package dev.streamformer.fault;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;

import org.junit.jupiter.api.Test;

/** The long run's memory verdict: fitted slopes and GC pauses from a real -Xlog:gc file's lines. */
class MemorySeriesTest {

    @Test
    void theSlopeIsTheLeastSquaresFitPerMinute() {
        assertThat(MemorySeries.slope(new double[] {0, 1, 2, 3}, new double[] {100, 102, 104, 106}))
                .isCloseTo(2.0, within(1e-9));
        assertThat(MemorySeries.slope(new double[] {0, 1, 2, 3}, new double[] {300, 290, 310, 300}))
                .isCloseTo(2.0, within(1e-9));
        assertThat(MemorySeries.slope(new double[] {5}, new double[] {1})).isZero();
    }

    @Test
    void pausesAreReadFromTheGcLogWithoutTheCollectionsTheSamplerAskedFor() {
        final double[] pauses = MemorySeries.pausesMs(List.of(
                "[0.012s] Using G1",
                "[3.456s] GC(0) Pause Young (Normal) (G1 Evacuation Pause) 24M->6M(256M) 4.123ms",
                "[9.100s] GC(1) Pause Young (Concurrent Start) (Metadata GC Threshold) 40M->9M(256M) 7.500ms",
                "[9.200s] GC(2) Concurrent Mark Cycle 12.345ms",
                "[60.000s] GC(3) Pause Full (System.gc()) 30M->12M(64M) 55.000ms",
                "[61.000s] GC(4) Pause Remark 20M->20M(64M) 1.250ms"));
        assertThat(pauses).containsExactly(1.25, 4.123, 7.5);
    }

    @Test
    void theHeapInUseIsReadFromJcmdHeapInfo() throws Exception {
        assertThat(MemorySeries.heapUsedMb("12345:\n garbage-first heap   total 192512K, used 47528K [0x0000000687400000,"
                + " 0x0000000800000000)\n  region size 4096K, 7 young (28672K), 1 survivors (4096K)\n"
                + " Metaspace       used 38427K, committed 38784K, reserved 1114112K\n")).isCloseTo(46.41, within(0.01));
    }

    @Test
    void aSeriesGrowingFasterThanItsBoundIsNotFlat() {
        final MemorySeries.Bounds bounds = new MemorySeries.Bounds(1.0, 0.5, 0.2);
        final MemorySeries.Verdict flat = new MemorySeries.Verdict(List.of(), 10, 0.3, -0.1, 0, bounds,
                new double[] {1, 2, 3, 4}, 4);
        final MemorySeries.Verdict leaking = new MemorySeries.Verdict(List.of(), 10, 0.3, 0.8, 0, bounds,
                new double[] {1, 2, 3, 4}, 4);
        assertThat(flat.flat()).isTrue();
        assertThat(leaking.flat()).isFalse();
        assertThat(leaking.toText()).contains("heap after GC    +0.80 MB/min (0.50)  GROWS");
    }
}
