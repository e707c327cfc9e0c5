package dev.streamformer.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonParser;

/**
 * Checks the DJL encoder against an independent implementation built on PyTorch's own modules
 * (src/test/python/albert_reference.py), run by Debian's python3 with python3-torch. .ci/run
 * installs it; where it is missing the test is skipped and says so.
 */
public class PyTorchReferenceTest {

    private static final String PYTHON = "/usr/bin/python3";
    private static final Path SCRIPT = Path.of("src/test/python/albert_reference.py");

    @TempDir
    static Path dir;

    private static String torchMissing;

    @BeforeAll
    static void probeTorch() throws Exception {
        if (!Files.isExecutable(Path.of(PYTHON))) {
            torchMissing = PYTHON + " is missing: apt-get install -y python3-torch (see .ci/run)";
            return;
        }
        final Process p = new ProcessBuilder(PYTHON, "-c", "import torch, numpy").redirectErrorStream(true).start();
        final String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            torchMissing = "Debian's python3-torch is not installed (" + out.strip()
                    + "): apt-get install -y python3-torch python3-numpy (see .ci/run)";
        }
    }

    public static Stream<Arguments> plans() {
        return Stream.of(
                Arguments.of("none", SharingPlan.NONE, 4, Activation.GELU_NEW),
                Arguments.of("all", SharingPlan.ALL, 4, Activation.GELU_NEW),
                Arguments.of("all-gelu", SharingPlan.ALL, 4, Activation.GELU),
                Arguments.of("attention-only", SharingPlan.ATTENTION_ONLY, 4, Activation.GELU_NEW),
                Arguments.of("ffn-only", SharingPlan.FFN_ONLY, 4, Activation.GELU),
                Arguments.of("cycle-3", SharingPlan.both(SharingStrategy.CYCLE, 3), 4, Activation.GELU_NEW),
                Arguments.of("cycle-3-gelu", SharingPlan.both(SharingStrategy.CYCLE, 3), 4, Activation.GELU),
                Arguments.of("sequence-3", SharingPlan.both(SharingStrategy.SEQUENCE, 3), 4, Activation.GELU_NEW),
                Arguments.of("cycle-reverse-3", SharingPlan.both(SharingStrategy.CYCLE_REVERSE, 3), 4, Activation.GELU),
                Arguments.of("all-kv1", SharingPlan.ALL, 1, Activation.GELU_NEW),
                Arguments.of("none-kv2", SharingPlan.NONE, 2, Activation.GELU),
                Arguments.of("pruned-3-heads", SharingPlan.both(SharingStrategy.CYCLE, 2), 3, Activation.GELU_NEW));
    }

    /**
     * The small test config with a plan; three key/value heads stand for a model whose heads were
     * pruned: 3 heads of size 8 in a width of 32.
     */
    public static ModelConfig config(final SharingPlan plan, final int kvHeads, final Activation activation) {
        final boolean pruned = kvHeads == 3;
        final ModelConfig base = TestModels.small(plan);
        return new ModelConfig(base.vocabSize(), base.embeddingSize(), base.hiddenSize(),
                base.numLayers(), pruned ? 3 : base.numHeads(), kvHeads, pruned ? 40 : base.intermediateSize(),
                base.maxPositions(), base.typeVocabSize(), activation, 1e-6, true, plan, base.labels(),
                base.hiddenSize() / base.numHeads());
    }

    /**
     * Each plan on each engine on the class path: ONNX Runtime here. The PyTorch engine's module checks
     * it against ONNX Runtime on the same plans (OnnxEngineTest there), so it agrees with the
     * reference through this test.
     */
    static Stream<Arguments> plansOnEachEngine() {
        return plans().flatMap(a -> Stream.of(InferenceEngine.values()).filter(Engines::available).map(e -> {
            final Object[] args = java.util.Arrays.copyOf(a.get(), 5);
            args[4] = e;
            return Arguments.of(args);
        }));
    }

    @ParameterizedTest(name = "{0} on {4}")
    @MethodSource("plansOnEachEngine")
    void logitsAgreeWithPyTorchToOneInTenThousand(final String label, final SharingPlan plan, final int kvHeads,
            final Activation activation, final InferenceEngine engine) throws Exception {
        assumeTrue(torchMissing == null, () -> "Skipped: " + torchMissing);
        final ModelConfig config = config(plan, kvHeads, activation);
        final Path modelDir = dir.resolve(label + "-" + engine);
        TestModels.randomized(config, label.hashCode()).save(modelDir);

        final List<EncoderInput> batch = TestModels.paddedBatch();
        final List<float[]> ours = new ArrayList<>();
        try (InferenceModel model = InferenceModel.load(modelDir, EngineSettings.of(engine, 1))) {
            model.predict(batch).forEach(o -> ours.add(o.logits()));
        }
        final List<float[]> reference = runReference(modelDir, batch);
        assertClose(ours, reference);
    }

    static Stream<Arguments> exportedArchitectures() {
        final ModelConfig small = TestModels.small(SharingPlan.NONE);
        // BERT: no cross-layer sharing, embeddings as wide as the hidden states, no projection.
        final ModelConfig bert = new ModelConfig(small.vocabSize(), small.hiddenSize(), small.hiddenSize(),
                small.numLayers(), small.numHeads(), small.numHeads(), small.intermediateSize(), small.maxPositions(),
                small.typeVocabSize(), Activation.GELU, 1e-12, false, SharingPlan.NONE, small.labels());
        return Stream.of(Arguments.of("bert-unshared", bert), Arguments.of("albert", TestModels.small(SharingPlan.ALL)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("exportedArchitectures")
    void onnxFilesThatPyTorchExportedAreServedWithTheReferenceLogits(final String label, final ModelConfig config)
            throws Exception {
        assumeTrue(torchMissing == null, () -> "Skipped: " + torchMissing);
        final Path source = dir.resolve(label + "-weights");
        TestModels.randomized(config, label.hashCode()).save(source);
        final Path exported = dir.resolve(label + "-onnx");
        Files.createDirectories(exported);
        Files.copy(source.resolve(ModelDirectory.CONFIG), exported.resolve(ModelDirectory.CONFIG));
        final Process p = new ProcessBuilder(PYTHON, SCRIPT.toString(), source.toString(), "--export-onnx",
                exported.resolve(ModelDirectory.ONNX).toString())
                .redirectErrorStream(true).start();
        final String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("torch.onnx.export: %s", log).isZero();

        final List<EncoderInput> batch = TestModels.paddedBatch();
        final List<float[]> ours = new ArrayList<>();
        try (InferenceModel model = InferenceModel.load(exported)) {
            assertThat(model.engine()).isEqualTo(InferenceEngine.ONNXRUNTIME);
            model.predict(batch).forEach(o -> ours.add(o.logits()));
            final long stored = ParameterLayout.of(config).stream().mapToLong(ParameterSpec::count).sum();
            assertThat(model.stats().uniqueParameters()).as("parameters read from the ONNX initializers")
                    .isBetween(stored - config.maxPositions() * (long) config.embeddingSize(), stored);
            System.out.print(model.stats().toTable());
        }
        assertClose(ours, runReference(source, batch));
    }

    private static void assertClose(final List<float[]> ours, final List<float[]> reference) {
        float largest = 0;
        for (int i = 0; i < ours.size(); i++) {
            assertThat(ours.get(i)).as("sequence %d", i).containsExactly(reference.get(i), within(1e-4f));
            for (final float v : reference.get(i)) {
                largest = Math.max(largest, Math.abs(v));
            }
        }
        assertThat(largest).as("logits are large enough for the comparison to mean something").isGreaterThan(0.1f);
    }

    private static List<float[]> runReference(final Path modelDir, final List<EncoderInput> batch)
            throws IOException, InterruptedException {
        final List<Map<String, Object>> sequences = new ArrayList<>();
        for (final EncoderInput in : batch) {
            final Map<String, Object> m = new LinkedHashMap<>();
            m.put("ids", in.tokenIds());
            m.put("mask", in.attentionMask());
            m.put("segments", in.segmentIds());
            sequences.add(m);
        }
        final Path inputs = modelDir.resolve("inputs.json");
        Files.writeString(inputs, new Gson().toJson(sequences));
        final Process p = new ProcessBuilder(PYTHON, SCRIPT.toString(), modelDir.toString(), inputs.toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        final String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("reference script exit code").isZero();
        final JsonArray rows = JsonParser.parseString(out).getAsJsonArray();
        final List<float[]> logits = new ArrayList<>();
        for (int i = 0; i < rows.size(); i++) {
            final JsonArray row = rows.get(i).getAsJsonArray();
            final float[] v = new float[row.size()];
            for (int j = 0; j < v.length; j++) {
                v[j] = row.get(j).getAsFloat();
            }
            logits.add(v);
        }
        return logits;
    }
}
