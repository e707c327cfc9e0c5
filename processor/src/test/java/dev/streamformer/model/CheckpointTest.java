package dev.streamformer.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.streamformer.model.SafeTensors.DType;
import dev.streamformer.model.SafeTensors.Tensor;

class CheckpointTest {

    @TempDir
    Path dir;

    @Test
    void readsF16Bf16AndInt8WithScalesAsTheSameModel() throws Exception {
        final Checkpoint f32 = TestModels.randomized(TestModels.small(SharingPlan.ALL), 21);
        final Map<String, Tensor> mixed = new LinkedHashMap<>();
        int i = 0;
        for (final Map.Entry<String, Tensor> e : f32.tensors().entrySet()) {
            final float[] v = e.getValue().toFloats();
            final long[] shape = e.getValue().shape();
            switch (i++ % 3) {
                case 0 -> mixed.put(e.getKey(), encode(DType.F16, shape, v));
                case 1 -> mixed.put(e.getKey(), encode(DType.BF16, shape, v));
                default -> {
                    if (shape.length == 2) {
                        final float[] scales = new float[(int) shape[0]];
                        final byte[] q = new byte[v.length];
                        final int row = (int) shape[1];
                        for (int r = 0; r < scales.length; r++) {
                            float max = 1e-8f;
                            for (int c = 0; c < row; c++) {
                                max = Math.max(max, Math.abs(v[r * row + c]));
                            }
                            scales[r] = max / 127f;
                            for (int c = 0; c < row; c++) {
                                q[r * row + c] = (byte) Math.round(v[r * row + c] / scales[r]);
                            }
                        }
                        mixed.put(e.getKey(), Tensor.ofBytes(shape, q));
                        mixed.put(e.getKey() + Checkpoint.SCALE_SUFFIX, Tensor.ofFloats(new long[] {scales.length}, scales));
                    } else {
                        mixed.put(e.getKey(), e.getValue());
                    }
                }
            }
        }
        new Checkpoint(f32.config(), mixed).save(dir);
        final Checkpoint loaded = Checkpoint.load(dir);
        assertThat(loaded.bytesByDtype().keySet()).contains("F16", "BF16", "I8", "F32");
        for (final String name : f32.tensors().keySet()) {
            final float[] expected = f32.floats(name);
            final float[] got = loaded.floats(name);
            final DType stored = loaded.tensors().get(name).dtype();
            final float tolerance = stored == DType.I8 ? 0.02f : stored == DType.BF16 ? 0.01f : 1e-3f;
            for (int k = 0; k < expected.length; k++) {
                assertThat(got[k]).as(name).isCloseTo(expected[k], within(tolerance * Math.max(1, Math.abs(expected[k]))));
            }
        }
        try (InferenceModel a = new InferenceModel("a", "v", f32); InferenceModel b = InferenceModel.load(dir)) {
            final float[] x = a.predict(TestModels.paddedBatch()).get(0).probabilities();
            final float[] y = b.predict(TestModels.paddedBatch()).get(0).probabilities();
            assertThat(y).containsExactly(x, within(0.1f));
        }
    }

    @Test
    void listsEveryMissingUnexpectedAndMisShapedTensorInOneError() throws Exception {
        final Checkpoint good = Checkpoint.random(TestModels.small(SharingPlan.ALL), 1);
        final Map<String, Tensor> broken = new LinkedHashMap<>(good.tensors());
        broken.remove("albert.pooler.weight");
        broken.remove("classifier.bias");
        broken.put("albert.encoder.albert_layer_groups.1.albert_layers.0.ffn.weight", good.tensors()
                .get("albert.encoder.albert_layer_groups.0.albert_layers.0.ffn.weight"));
        broken.put("albert.embeddings.word_embeddings.weight", Tensor.ofFloats(new long[] {7, 16}, new float[7 * 16]));
        broken.put("albert.embeddings.position_ids", Tensor.ofFloats(new long[] {1}, new float[1]));
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(ModelDirectory.CONFIG), good.config().toJson());
        SafeTensors.write(dir.resolve(ModelDirectory.WEIGHTS), broken, Map.of());
        assertThatThrownBy(() -> Checkpoint.load(dir))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Missing 2: [albert.pooler.weight, classifier.bias]")
                .hasMessageContaining("Unexpected 1: [albert.encoder.albert_layer_groups.1.albert_layers.0.ffn.weight]")
                .hasMessageContaining("Wrong shape 1: [albert.embeddings.word_embeddings.weight is [7, 16], expected [120, 16]]")
                .hasMessageContaining("Check that config.json belongs to these weights");
    }

    @Test
    void rejectsAFileThatIsNotSafetensors() throws Exception {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(ModelDirectory.CONFIG), TestModels.small(SharingPlan.ALL).toJson());
        Files.write(dir.resolve(ModelDirectory.WEIGHTS), new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
        assertThatThrownBy(() -> Checkpoint.load(dir)).hasMessageContaining("is not a safetensors file");
    }

    @Test
    void sameConfigAndSeedGiveTheSameWeights() {
        final Checkpoint a = Checkpoint.random(TestModels.small(SharingPlan.NONE), 9);
        final Checkpoint b = Checkpoint.random(TestModels.small(SharingPlan.NONE), 9);
        final Checkpoint c = Checkpoint.random(TestModels.small(SharingPlan.NONE), 10);
        final String name = "albert.encoder.albert_layer_groups.3.albert_layers.0.attention.query.weight";
        assertThat(a.floats(name)).containsExactly(b.floats(name));
        assertThat(a.floats(name)).isNotEqualTo(c.floats(name));
        final float[] w = a.floats(name);
        double sum = 0;
        double max = 0;
        for (final float x : w) {
            sum += x * x;
            max = Math.max(max, Math.abs(x));
        }
        assertThat(Math.sqrt(sum / w.length)).isBetween(0.015, 0.02);
        assertThat(max).isLessThanOrEqualTo(0.04 + 1e-6);
    }

    private static Tensor encode(final DType dtype, final long[] shape, final float[] v) {
        final ByteBuffer b = ByteBuffer.allocate(v.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (final float x : v) {
            b.putShort(dtype == DType.F16 ? floatToHalf(x) : (short) (Float.floatToIntBits(x) >>> 16));
        }
        b.flip();
        return new Tensor(dtype, shape, b);
    }

    /** Round-to-nearest float to half for normal values, enough for weights in (-8, 8). */
    private static short floatToHalf(final float f) {
        final int bits = Float.floatToIntBits(f);
        final int sign = (bits >>> 16) & 0x8000;
        final int exp = ((bits >>> 23) & 0xFF) - 127 + 15;
        if (exp <= 0) {
            return (short) sign;
        }
        final int mantissa = (bits & 0x7FFFFF) + 0x1000;
        return (short) (sign | (exp << 10) + (mantissa >>> 13));
    }

    @Test
    void halfPrecisionDecodingMatchesKnownValues() {
        assertThat(SafeTensors.halfToFloat((short) 0x3C00)).isEqualTo(1f);
        assertThat(SafeTensors.halfToFloat((short) 0xC000)).isEqualTo(-2f);
        assertThat(SafeTensors.halfToFloat((short) 0x0001)).isEqualTo(0x1p-24f);
        assertThat(SafeTensors.halfToFloat((short) 0x7C00)).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(List.of(SafeTensors.halfToFloat((short) 0x3555))).first().satisfies(x ->
                assertThat(x).isCloseTo(0.33325f, within(1e-5f)));
    }
}
