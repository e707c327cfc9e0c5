package dev.streamformer.model;

import java.util.Arrays;

/**
 * One stored tensor of a model: its name in model.safetensors, its shape and the component it
 * belongs to in the parameter statistics.
 *
 * @param name the Hugging Face style tensor name
 * @param shape the dimensions
 * @param component the component, for example {@code embeddings} or {@code attention[B]}
 */
public record ParameterSpec(String name, long[] shape, String component) {

    /** @return the number of scalars */
    public long count() {
        long n = 1;
        for (final long d : shape) {
            n *= d;
        }
        return n;
    }

    @Override
    public boolean equals(final Object o) {
        return o instanceof ParameterSpec p && name.equals(p.name) && Arrays.equals(shape, p.shape)
                && component.equals(p.component);
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return name + Arrays.toString(shape);
    }
}
