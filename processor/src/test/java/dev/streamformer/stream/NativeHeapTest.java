package dev.streamformer.stream;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import dev.streamformer.model.DefaultModel;
import dev.streamformer.model.EncoderInput;
import dev.streamformer.model.EngineSettings;
import dev.streamformer.model.InferenceEngine;
import dev.streamformer.model.InferenceModel;

class NativeHeapTest {

    private static final Pattern REPORT = Pattern.compile("RSS\\+Swap: (\\d+)([KMG])->(\\d+)([KMG])");

    @Test
    void aClosedModelsMemoryIsTrimmedAndTheJvmReportsTheResidentMemoryBeforeAndAfter() throws Exception {
        try (InferenceModel model = DefaultModel.load(EngineSettings.of(InferenceEngine.ONNXRUNTIME, 1))) {
            model.predict(List.of(EncoderInput.of(2, 100, 200, 300, 3)));
        }
        final String report = NativeHeap.trim();
        assertThat(report).as("the JVM's System.trim_native_heap on glibc").isNotNull();
        final Matcher m = REPORT.matcher(report);
        assertThat(m.find()).as(report).isTrue();
        assertThat(kilobytes(m.group(3), m.group(4))).as(report).isLessThanOrEqualTo(kilobytes(m.group(1), m.group(2)));
    }

    @Test
    void closingTheLastLeaseOfAModelTrimsTheHeapInTheBackground() throws Exception {
        final int before = NativeHeap.backgroundTrims();
        final ModelRegistry registry = new ModelRegistry();
        try (ModelRegistry.Lease lease = registry.acquire("")) {
            lease.model().predict(List.of(EncoderInput.of(2, 100, 200, 300, 3)));
        }
        final long deadline = System.nanoTime() + 30_000_000_000L;
        while (NativeHeap.backgroundTrims() == before && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(NativeHeap.backgroundTrims()).as("trims after the model closed").isGreaterThan(before);
    }

    private static long kilobytes(final String value, final String unit) {
        return Long.parseLong(value) << switch (unit) {
            case "G" -> 20;
            case "M" -> 10;
            default -> 0;
        };
    }
}
