package dev.streamformer.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DelegatingForwardPassTest {

    @TempDir
    Path dir;

    @Test
    void aWrapperThatInterceptsOnlyFullDepthPassesStillServesEarlyExitAndRefillAndClosesTheEngine() throws Exception {
        TestModels.randomized(TestModels.small(SharingPlan.ALL).withExits(ExitHeads.SHARED), 5).save(dir);
        final List<EncoderInput> inputs = List.of(EncoderInput.of(2, 5, 9, 3), EncoderInput.of(2, 7, 3),
                EncoderInput.of(2, 11, 12, 13, 3));
        final ExitPolicy policy = ExitPolicy.parse("patience:2");
        final AtomicInteger fullDepth = new AtomicInteger();
        final AtomicInteger closed = new AtomicInteger();
        try (InferenceModel plain = InferenceModel.load(dir);
                InferenceModel wrapped = InferenceModel.load(dir).wrapped(pass -> new DelegatingForwardPass(pass) {
                    @Override
                    public float[] logits(final EncoderBatch batch) {
                        fullDepth.incrementAndGet();
                        return super.logits(batch);
                    }

                    @Override
                    public void close() {
                        closed.incrementAndGet();
                        super.close();
                    }
                })) {
            final List<InferenceModel.Exit> expected = plain.predict(inputs, policy);
            for (final List<InferenceModel.Exit> got : List.of(wrapped.predict(inputs, policy),
                    wrapped.predict(inputs, policy, 2))) {
                for (int i = 0; i < inputs.size(); i++) {
                    assertThat(got.get(i).layers()).isEqualTo(expected.get(i).layers());
                    assertThat(got.get(i).output().probabilities()[1]).isCloseTo(
                            expected.get(i).output().probabilities()[1], within(1e-5f));
                }
            }
            assertThat(fullDepth).as("early exit and refill went past the intercepted call").hasValue(0);
            wrapped.predict(inputs);
            assertThat(fullDepth).hasValue(1);
        }
        assertThat(closed).hasValue(1);
    }
}
