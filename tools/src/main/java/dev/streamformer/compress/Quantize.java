package dev.streamformer.compress;

import java.util.LinkedHashMap;
import java.util.Map;

import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.ParameterLayout;
import dev.streamformer.model.ParameterSpec;
import dev.streamformer.model.SafeTensors.Tensor;

/**
 * Int8 weights with one fp32 scale per output channel (row): scale = max |row| / 127 and
 * q = round(w / scale), so every weight comes back within scale / 2. Matrices (linear layers and
 * embedding tables) are quantized; biases and LayerNorm parameters stay fp32. The model is
 * dequantized at load and computes in fp32 (the engine has no int8 matmul reachable from DJL).
 */
public final class Quantize {

    private Quantize() {
    }

    /**
     * @param source the model
     * @return the int8 model
     */
    public static Checkpoint int8(final Checkpoint source) {
        final Map<String, Tensor> out = new LinkedHashMap<>();
        for (final ParameterSpec spec : ParameterLayout.of(source.config())) {
            final float[] w = source.floats(spec.name());
            if (spec.shape().length != 2) {
                out.put(spec.name(), Tensor.ofFloats(spec.shape(), w));
                continue;
            }
            final int rows = (int) spec.shape()[0];
            final int cols = (int) spec.shape()[1];
            final float[] scales = new float[rows];
            final byte[] q = new byte[w.length];
            for (int r = 0; r < rows; r++) {
                float max = 0;
                for (int c = 0; c < cols; c++) {
                    max = Math.max(max, Math.abs(w[r * cols + c]));
                }
                scales[r] = max == 0 ? 1f : max / 127f;
                for (int c = 0; c < cols; c++) {
                    q[r * cols + c] = (byte) Math.max(-127, Math.min(127, Math.round(w[r * cols + c] / scales[r])));
                }
            }
            out.put(spec.name(), Tensor.ofBytes(spec.shape(), q));
            out.put(spec.name() + Checkpoint.SCALE_SUFFIX, Tensor.ofFloats(new long[] {rows}, scales));
        }
        return new Checkpoint(source.config(), out);
    }
}
