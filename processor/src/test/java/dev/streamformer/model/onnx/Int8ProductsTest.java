package dev.streamformer.model.onnx;

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
}
