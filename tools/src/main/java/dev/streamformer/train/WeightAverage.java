package dev.streamformer.train;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.SafeTensors.Tensor;

/**
 * The element-wise mean of the weights of checkpoints of one architecture: checkpoints of one
 * training run (the last epochs, as in stochastic weight averaging, Izmailov et al. 2018) or
 * fine-tunes of one start ("model soups", Wortsman et al. 2022). Models trained from different
 * initialisations do not average: their hidden units are not aligned.
 */
public final class WeightAverage {

    private WeightAverage() {
    }

    /**
     * @param checkpoints at least two checkpoints of the same config; int8 ones are dequantized first
     * @return a checkpoint whose every tensor is the mean of theirs, in fp32
     * @throws IllegalArgumentException when they differ in architecture, tensor names or shapes
     */
    public static Checkpoint of(final List<Checkpoint> checkpoints) {
        if (checkpoints.size() < 2) {
            throw new IllegalArgumentException("give at least two checkpoints to average, got " + checkpoints.size());
        }
        final List<Checkpoint> fp32 = checkpoints.stream().map(Checkpoint::dequantized).toList();
        final Checkpoint first = fp32.get(0);
        for (int i = 1; i < fp32.size(); i++) {
            if (!fp32.get(i).config().equals(first.config())) {
                throw new IllegalArgumentException("checkpoint " + (i + 1) + " has another architecture or sharing plan"
                        + " than the first: only checkpoints of one config.json average");
            }
            if (!fp32.get(i).tensors().keySet().equals(first.tensors().keySet())) {
                throw new IllegalArgumentException("checkpoint " + (i + 1) + " has other tensors than the first");
            }
        }
        final Map<String, Tensor> mean = new LinkedHashMap<>();
        for (final Map.Entry<String, Tensor> e : first.tensors().entrySet()) {
            final float[] sum = new float[Math.toIntExact(e.getValue().elements())];
            for (final Checkpoint c : fp32) {
                final float[] values = c.tensors().get(e.getKey()).toFloats();
                if (values.length != sum.length) {
                    throw new IllegalArgumentException("tensor " + e.getKey() + " differs in shape between checkpoints");
                }
                for (int j = 0; j < sum.length; j++) {
                    sum[j] += values[j];
                }
            }
            for (int j = 0; j < sum.length; j++) {
                sum[j] /= fp32.size();
            }
            mean.put(e.getKey(), Tensor.ofFloats(e.getValue().shape(), sum));
        }
        return new Checkpoint(first.config(), mean);
    }
}
