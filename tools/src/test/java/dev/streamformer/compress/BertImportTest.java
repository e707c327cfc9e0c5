package dev.streamformer.compress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URISyntaxException;
import java.net.URL;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.streamformer.engine.pytorch.SharedEncoder;
import dev.streamformer.model.Activation;
import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.EncoderBatch;
import dev.streamformer.model.EncoderInput;
import dev.streamformer.model.EngineSettings;
import dev.streamformer.model.InferenceEngine;
import dev.streamformer.model.InferenceModel;
import dev.streamformer.model.ModelOutput;
import dev.streamformer.model.SafeTensors;
import dev.streamformer.model.SharingPlan;
import dev.streamformer.text.TextTokenizer;

/**
 * Importing a real pre-trained BERT encoder: all-MiniLM-L6-v2 as Maven Central ships it (an ONNX
 * export and its tokenizer.json in a jar, a test dependency), checked against ONNX Runtime running
 * that export.
 */
class BertImportTest {

    /** "[CLS] free money or ham ? click here now [SEP]" in the source's ids, from its tokenizer.json. */
    private static final long[] SOURCE_IDS = {101, 2489, 2769, 2030, 10654, 1029, 11562, 2182, 2085, 102};

    private static Path jar;
    private static BertImport.Source source;

    @BeforeAll
    static void readTheSource() throws Exception {
        jar = jarHolding("all-minilm-l6-v2.onnx");
        source = BertImport.read(jar);
    }

    @Test
    void readsTheShapeOfTheEncoderFromItsWeights() {
        assertThat(source.layers()).isEqualTo(6);
        assertThat(source.hiddenSize()).isEqualTo(384);
        assertThat(source.intermediateSize()).isEqualTo(1536);
        assertThat(source.maxPositions()).isEqualTo(512);
        assertThat(source.vocab()).hasSize(30522);
        assertThat(source.vocab().get(101)).isEqualTo("[CLS]");
    }

    @Test
    void theImportedEncoderComputesTheSourcesLastHiddenStates() throws Exception {
        final int[] kept = BertImport.everyToken(source.vocab());
        final Checkpoint imported = BertImport.toCheckpoint(source, 12, Activation.GELU, kept, 512,
                List.of("ham", "spam"), 1);
        assertThat(imported.config().plan()).isEqualTo(SharingPlan.NONE);
        assertThat(kept).startsWith(0, 100, 101, 102, 103);

        final float[] expected = sourceHiddenStates();
        final int[] ids = newIds(kept);
        try (SharedEncoder encoder = SharedEncoder.forInference(imported); NDManager manager = NDManager.newBaseManager()) {
            final EncoderBatch batch = EncoderBatch.of(imported.config(), List.of(EncoderInput.of(ids)));
            final NDArray hidden = encoder.encode(manager, batch, false);
            final float[] actual = hidden.toFloatArray();
            assertThat(actual).hasSameSizeAs(expected);
            float worst = 0;
            for (int i = 0; i < actual.length; i++) {
                worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
            }
            assertThat(worst).as("largest difference of the last hidden states").isLessThan(1e-4f);
        }
    }

    @Test
    void aCutVocabularyKeepsTheCorpusTokenizationAndServesOnBothEngines(@TempDir final Path dir) throws Exception {
        final long[] counts = new long[source.vocab().size()];
        for (final long id : SOURCE_IDS) {
            counts[(int) id] += 1;
        }
        final Set<Integer> characters = BertImport.latinCharacters(source.vocab());
        // Eight tokens besides [CLS] and [SEP]; "?" is a single character, kept anyway.
        final int size = 5 + characters.size() + 7;
        final int[] kept = BertImport.keptTokens(source.vocab(), counts, characters, size);
        assertThat(kept).hasSize(size).startsWith(0, 100, 101, 102, 103);
        final Checkpoint imported = BertImport.toCheckpoint(source, 12, Activation.GELU, kept, 64,
                List.of("ham", "spam"), 1);
        imported.save(dir);
        BertImport.writeTokenizer(dir, source.vocab(), kept);

        // The eight kept tokens still read as themselves; an unseen word splits into kept characters.
        try (TextTokenizer tokenizer = TextTokenizer.load(dir, 64)) {
            assertThat(tokenizer.encode("Free money or ham? Click here now")).containsExactly(newIds(kept));
            final int[] unseen = tokenizer.encode("zebra");
            assertThat(unseen).hasSize(2 + 5).doesNotContain(1);
        }
        final Map<String, float[]> byEngine = new LinkedHashMap<>();
        for (final InferenceEngine engine : InferenceEngine.values()) {
            try (InferenceModel model = InferenceModel.load(dir, EngineSettings.of(engine, 1))) {
                final ModelOutput out = model.predict(List.of(EncoderInput.of(newIds(kept)))).get(0);
                byEngine.put(engine.name(), out.logits());
            }
        }
        assertThat(byEngine.get("ONNXRUNTIME")).containsExactly(byEngine.get("PYTORCH"),
                org.assertj.core.data.Offset.offset(1e-4f));
    }

    @Test
    void anImportedEncoderWithExitHeadsLeavesAfterTheSameLayersWithTheSameAnswersOnBothEngines() {
        final Set<Integer> characters = BertImport.latinCharacters(source.vocab());
        final int[] kept = BertImport.keptTokens(source.vocab(), new long[source.vocab().size()], characters,
                5 + characters.size());
        final Checkpoint imported = BertImport.toCheckpoint(source, 12, Activation.GELU, kept, 64,
                List.of("ham", "spam"), 1).withExits(dev.streamformer.model.ExitHeads.PER_LAYER);
        final List<EncoderInput> inputs = List.of(EncoderInput.of(101, 30, 40, 50, 102), EncoderInput.of(101, 60, 102),
                EncoderInput.of(101, 70, 80, 90, 75, 65, 102));
        final Map<String, List<InferenceModel.Exit>> byEngine = new LinkedHashMap<>();
        final dev.streamformer.model.ExitPolicy policy = dev.streamformer.model.ExitPolicy.parse("patience:2");
        for (final InferenceEngine engine : InferenceEngine.values()) {
            try (InferenceModel model = new InferenceModel("imported", "v", imported, EngineSettings.of(engine, 1))) {
                byEngine.put(engine.name(), model.predict(inputs, policy));
                final List<InferenceModel.Exit> full = model.predict(inputs, dev.streamformer.model.ExitPolicy.NONE);
                assertThat(full).allSatisfy(e -> assertThat(e.layers()).isEqualTo(imported.config().numLayers()));
            }
        }
        for (int i = 0; i < inputs.size(); i++) {
            final InferenceModel.Exit onnx = byEngine.get("ONNXRUNTIME").get(i);
            final InferenceModel.Exit torch = byEngine.get("PYTORCH").get(i);
            assertThat(onnx.layers()).as("record %d", i).isEqualTo(torch.layers()).isBetween(2, imported.config().numLayers());
            assertThat(onnx.output().logits()).containsExactly(torch.output().logits(),
                    org.assertj.core.data.Offset.offset(1e-4f));
        }
    }

    @Test
    void readsTheSameEncoderFromAHuggingFaceSafetensorsDirectory(@TempDir final Path dir) throws Exception {
        final Map<String, SafeTensors.Tensor> prefixed = new LinkedHashMap<>();
        source.tensors().forEach((name, t) -> prefixed.put("bert." + name, t));
        SafeTensors.write(dir.resolve("model.safetensors"), prefixed, Map.of("format", "pt"));
        Files.write(dir.resolve("vocab.txt"), source.vocab(), StandardCharsets.UTF_8);

        final BertImport.Source fromDirectory = BertImport.read(dir);
        assertThat(fromDirectory.vocab()).isEqualTo(source.vocab());
        assertThat(fromDirectory.tensors().keySet()).isEqualTo(source.tensors().keySet());
        for (final String name : source.tensors().keySet()) {
            assertThat(Arrays.equals(fromDirectory.tensors().get(name).toFloats(),
                    source.tensors().get(name).toFloats())).as(name).isTrue();
        }
    }

    @Test
    void aSourceWithoutWeightsOrTooFewTokensIsRefusedWithTheFix() {
        assertThatThrownBy(() -> BertImport.read(Path.of("model.bin")))
                .hasMessageContaining("give an .onnx file, a jar or zip");
        assertThatThrownBy(() -> BertImport.keptTokens(source.vocab(), new long[source.vocab().size()],
                BertImport.latinCharacters(source.vocab()), 100))
                .hasMessageContaining("--vocab-size 100 is smaller than");
        final int[] all = BertImport.everyToken(source.vocab());
        assertThatThrownBy(() -> BertImport.toCheckpoint(source, 12, Activation.GELU, all, 1024,
                List.of("ham", "spam"), 1)).hasMessageContaining("more than the source's 512");
    }

    /** The source's ids in the imported vocabulary's order. */
    private static int[] newIds(final int[] kept) {
        final int[] ids = new int[SOURCE_IDS.length];
        for (int i = 0; i < ids.length; i++) {
            final int sourceId = (int) SOURCE_IDS[i];
            ids[i] = Arrays.stream(kept).boxed().toList().indexOf(sourceId);
            assertThat(ids[i]).as("source id %d kept", sourceId).isNotNegative();
        }
        return ids;
    }

    /** ONNX Runtime on the source export, read straight from the jar. */
    private static float[] sourceHiddenStates() throws Exception {
        final byte[] onnx;
        try (var in = BertImportTest.class.getResourceAsStream("/all-minilm-l6-v2.onnx")) {
            onnx = in.readAllBytes();
        }
        final OrtEnvironment env = OrtEnvironment.getEnvironment();
        final long[] shape = {1, SOURCE_IDS.length};
        final long[] ones = new long[SOURCE_IDS.length];
        Arrays.fill(ones, 1);
        try (OrtSession session = env.createSession(onnx, new OrtSession.SessionOptions());
                OnnxTensor ids = OnnxTensor.createTensor(env, LongBuffer.wrap(SOURCE_IDS), shape);
                OnnxTensor mask = OnnxTensor.createTensor(env, LongBuffer.wrap(ones), shape);
                OnnxTensor types = OnnxTensor.createTensor(env, LongBuffer.wrap(new long[SOURCE_IDS.length]), shape);
                OrtSession.Result result = session.run(Map.of("input_ids", ids, "attention_mask", mask,
                        "token_type_ids", types))) {
            final FloatBuffer hidden = ((OnnxTensor) result.get("last_hidden_state").orElseThrow()).getFloatBuffer();
            final float[] out = new float[hidden.remaining()];
            hidden.get(out);
            return out;
        }
    }

    private static Path jarHolding(final String resource) throws URISyntaxException {
        final URL url = BertImportTest.class.getResource("/" + resource);
        assertThat(url).as("the all-MiniLM-L6-v2 jar on the test classpath").isNotNull();
        final String s = url.toString();
        return Path.of(new java.net.URI(s.substring("jar:".length(), s.indexOf("!/"))));
    }
}
