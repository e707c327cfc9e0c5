package dev.streamformer.engine.pytorch;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import ai.djl.ndarray.NDArray;

import dev.streamformer.model.Activation;
import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.EncoderInput;
import dev.streamformer.model.EngineSettings;
import dev.streamformer.model.InferenceEngine;
import dev.streamformer.model.InferenceModel;
import dev.streamformer.model.ModelConfig;
import dev.streamformer.model.ModelOutput;
import dev.streamformer.model.ParameterLayout;
import dev.streamformer.model.SharingPlan;
import dev.streamformer.model.TestModels;

class ConcurrentInferenceTest {

    private static final int THREADS = 4;
    private static final int CALLS = 50;

    @Test
    void fourThreadsShareOneCopyOfTheWeightsAndMatchTheSingleThreadOutputs() throws Exception {
        // Large enough that a copy of the weights (about 65 MB) would stand out in resident memory.
        final ModelConfig config = new ModelConfig(60_000, 128, 256, 6, 4, 4, 1024, 128, 2, Activation.GELU_NEW,
                1e-12, true, SharingPlan.NONE, List.of("ham", "spam"));
        try (InferenceModel model = new InferenceModel("m", "v", Checkpoint.random(config, 11),
                EngineSettings.of(InferenceEngine.PYTORCH, 1))) {
            final long weightBytes = model.stats().totalBytes();
            final List<EncoderInput> batch = TestModels.paddedBatch();
            final List<ModelOutput> expected = model.predict(batch);
            final Set<NDArray> weightsBefore = identitySet(PyTorchForward.encoder(model).parameters().values());

            // Warm up the heap and the engine on one thread so the measurement sees only what more threads add.
            for (int call = 0; call < CALLS; call++) {
                model.predict(batch);
            }
            final long rssBefore = residentBytes();
            final ExecutorService pool = Executors.newFixedThreadPool(THREADS);
            final CountDownLatch start = new CountDownLatch(1);
            final List<Future<Integer>> results = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                results.add(pool.submit(() -> {
                    start.await();
                    int matching = 0;
                    for (int call = 0; call < CALLS; call++) {
                        final List<ModelOutput> got = model.predict(batch);
                        boolean same = true;
                        for (int i = 0; i < got.size(); i++) {
                            same &= java.util.Arrays.equals(got.get(i).logits(), expected.get(i).logits());
                        }
                        matching += same ? 1 : 0;
                    }
                    return matching;
                }));
            }
            start.countDown();
            for (final Future<Integer> f : results) {
                assertThat(f.get(5, TimeUnit.MINUTES)).as("calls identical to the single-thread outputs").isEqualTo(CALLS);
            }
            final long rssAfter = residentBytes();
            pool.shutdown();

            assertThat(identitySet(PyTorchForward.encoder(model).parameters().values())).isEqualTo(weightsBefore);
            assertThat(PyTorchForward.encoder(model).parameters()).hasSize(ParameterLayout.of(config).size());
            final long growth = rssAfter - rssBefore;
            System.out.printf("weights %.1f MB, resident growth with %d threads %.1f MB%n",
                    weightBytes / 1e6, THREADS, growth / 1e6);
            assertThat(growth).as("resident memory growth with %d threads", THREADS)
                    .isLessThan(weightBytes * (THREADS - 1) / 2);
        }
    }

    private static Set<NDArray> identitySet(final Iterable<NDArray> arrays) {
        final Set<NDArray> set = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        arrays.forEach(set::add);
        return set;
    }

    /** VmRSS of this JVM, bytes. */
    private static long residentBytes() throws Exception {
        for (final String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
            }
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }
}
