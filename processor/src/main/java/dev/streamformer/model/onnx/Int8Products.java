package dev.streamformer.model.onnx;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

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

    private Int8Products() {
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

    /** The flags line of /proc/cpuinfo, or null where there is none (not Linux). */
    private static List<String> cpuFlags() {
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
