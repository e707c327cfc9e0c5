package dev.streamformer.engine.onnx.internals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.SafeTensors.DType;

/**
 * Whether an int8 checkpoint is served with int8 matrix products on this CPU.
 *
 * <p>On x86 CPUs without VNNI or AMX, ONNX Runtime multiplies uint8 activations by int8 weights
 * with AVX2's pair-wise products, whose 16-bit sums saturate (255 x 127 x 2 > 32,767): logits move
 * by more than the scales allow, and the products are no faster there than fp32 (measured
 * 1.01-1.05x). Such CPUs are served the weights dequantized to fp32 at load, as the PyTorch engine
 * does; CPUs with VNNI or AMX (and non-x86 CPUs) keep the int8 products.
 */
public final class Int8Products {

    private static final Logger LOG = LoggerFactory.getLogger(Int8Products.class);

    /** CPU flags (as /proc/cpuinfo names them) that multiply int8 into 32-bit sums without saturating. */
    static final List<String> EXACT_INT8_FLAGS = List.of("avx512_vnni", "avx_vnni", "amx_int8");

    /** ONNX operators that multiply 8-bit activations by 8-bit weights (ONNX and ONNX Runtime's contrib ops). */
    static final List<String> INT8_PRODUCT_OPS = List.of("MatMulInteger", "DynamicQuantizeMatMul",
            "MatMulIntegerToFloat", "QLinearMatMul", "QGemm", "QAttention", "ConvInteger", "QLinearConv");

    private Int8Products() {
    }

    /**
     * Warns when a given ONNX file (a {@code model.onnx} served as it is, not built from the
     * checkpoint) multiplies in int8 on a CPU whose int8 products saturate: the file cannot be
     * dequantized here, so its outputs may be off.
     *
     * @param file the ONNX file
     * @param opCounts its nodes per operator type
     */
    public static void warnIfSaturating(final Path file, final Map<String, Integer> opCounts) {
        warning(file, opCounts, System.getProperty("os.arch"), cpuFlags()).ifPresent(LOG::warn);
    }

    /**
     * @return the warning for {@link #warnIfSaturating}, or empty when the file has no int8
     *     products or this CPU multiplies int8 exactly
     */
    static Optional<String> warning(final Path file, final Map<String, Integer> opCounts, final String arch,
            final List<String> flags) {
        final List<String> ops = INT8_PRODUCT_OPS.stream().filter(opCounts::containsKey).toList();
        if (ops.isEmpty() || exact(arch, flags)) {
            return Optional.empty();
        }
        return Optional.of(file + " multiplies in int8 (" + String.join(", ", ops) + ") and this CPU has none of "
                + EXACT_INT8_FLAGS + ": ONNX Runtime's uint8 x int8 products saturate here, so predictions may"
                + " differ from the fp32 model's. Serve an fp32 model.onnx, or the checkpoint (config.json and"
                + " model.safetensors without model.onnx), which is dequantized at load on such CPUs");
    }

    /**
     * @param checkpoint the weights to serve
     * @return the checkpoint itself, or dequantized when it holds int8 tensors and this CPU's int8
     *     products saturate
     */
    public static Checkpoint servable(final Checkpoint checkpoint) {
        final boolean int8 = checkpoint.tensors().values().stream().anyMatch(t -> t.dtype() == DType.I8);
        if (!int8 || exact(System.getProperty("os.arch"), cpuFlags())) {
            return checkpoint;
        }
        LOG.info("int8 weights served dequantized to fp32: this CPU has none of {} (int8 products would"
                + " saturate and are not faster here)", EXACT_INT8_FLAGS);
        return checkpoint.dequantized();
    }

    /**
     * @param arch the JVM's os.arch
     * @param flags the CPU's flags, or null when they cannot be read
     * @return whether int8 products run without saturating
     */
    static boolean exact(final String arch, final List<String> flags) {
        final String a = arch == null ? "" : arch.toLowerCase(Locale.ROOT);
        final boolean x86 = a.equals("amd64") || a.equals("x86_64") || a.equals("x86");
        return !x86 || flags == null || flags.stream().anyMatch(EXACT_INT8_FLAGS::contains);
    }

    /** @return the flags of /proc/cpuinfo's first processor, or null where there are none (not Linux) */
    public static List<String> cpuFlags() {
        try {
            for (final String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("flags")) {
                    return Arrays.asList(line.substring(line.indexOf(':') + 1).strip().split("\\s+"));
                }
            }
        } catch (IOException | RuntimeException e) {
            return null;
        }
        return null;
    }
}
