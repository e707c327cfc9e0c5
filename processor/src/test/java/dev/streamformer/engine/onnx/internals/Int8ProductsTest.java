package dev.streamformer.engine.onnx.internals;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

/** Which CPUs keep int8 matrix products: those whose int8 sums do not saturate. */
class Int8ProductsTest {

    @Test
    void x86WithoutVnniOrAmxIsServedDequantizedAndEveryOtherCpuKeepsInt8() {
        assertThat(Int8Products.exact("amd64", List.of("sse4_2", "avx2", "fma"))).isFalse();
        assertThat(Int8Products.exact("amd64", List.of("avx2", "avx512f", "avx512_vnni"))).isTrue();
        assertThat(Int8Products.exact("x86_64", List.of("avx2", "avx_vnni"))).isTrue();
        assertThat(Int8Products.exact("amd64", List.of("avx512f", "amx_int8", "amx_tile"))).isTrue();
        assertThat(Int8Products.exact("aarch64", List.of("neon", "asimd"))).isTrue();
        assertThat(Int8Products.exact("amd64", null)).as("flags unknown: keep int8").isTrue();
    }

    @Test
    void anInt8OnnxFileServedAsItIsIsWarnedAboutOnlyWhereItsProductsSaturate() {
        final java.nio.file.Path file = java.nio.file.Path.of("models/q/model.onnx");
        final java.util.Map<String, Integer> int8 = java.util.Map.of("DynamicQuantizeMatMul", 36, "Add", 50);
        final java.util.Map<String, Integer> fp32 = java.util.Map.of("MatMul", 36, "Add", 50);
        assertThat(Int8Products.warning(file, int8, "amd64", List.of("avx2", "fma"))).hasValueSatisfying(w ->
                assertThat(w).contains("models/q/model.onnx", "DynamicQuantizeMatMul", "saturate",
                        "Serve an fp32 model.onnx"));
        assertThat(Int8Products.warning(file, fp32, "amd64", List.of("avx2", "fma"))).isEmpty();
        assertThat(Int8Products.warning(file, int8, "amd64", List.of("avx2", "avx512_vnni"))).isEmpty();
        assertThat(Int8Products.warning(file, java.util.Map.of("MatMulInteger", 1), "aarch64", List.of("asimd")))
                .isEmpty();
    }
}
