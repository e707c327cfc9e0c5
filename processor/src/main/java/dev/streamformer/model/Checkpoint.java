package dev.streamformer.model;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

import dev.streamformer.model.SafeTensors.DType;
import dev.streamformer.model.SafeTensors.Tensor;

/**
 * A model as stored on disk, independent of any engine: its config and its tensors by name.
 * Loading checks the tensors against {@link ParameterLayout} and reports every missing, unexpected
 * or mis-shaped tensor in one error. An I8 tensor {@code X} with an F32 companion {@code X_scale}
 * (one scale per output row) holds int8 weights; {@link #floats(String)} dequantizes them.
 *
 * @param config the architecture
 * @param tensors the stored tensors by name
 */
public record Checkpoint(ModelConfig config, Map<String, Tensor> tensors) {

    /** Suffix of the per-row scale of an int8 tensor. */
    public static final String SCALE_SUFFIX = "_scale";

    /** Buffers that Hugging Face checkpoints may hold and that the model does not need. */
    private static final Set<String> IGNORED = Set.of("albert.embeddings.position_ids", "albert.embeddings.token_type_ids");

    /** Copies the map and checks the tensors against the layout of the config. */
    public Checkpoint {
        tensors = Map.copyOf(tensors);
        validate(config, tensors);
    }

    /**
     * Reads a model directory: config.json and model.safetensors.
     *
     * @param dir the directory
     * @return the checkpoint
     * @throws IOException when a file is missing or unreadable
     */
    public static Checkpoint load(final Path dir) throws IOException {
        final ModelConfig config = ModelConfig.read(dir);
        final Path weights = dir.resolve(ModelDirectory.WEIGHTS);
        if (!Files.isRegularFile(weights)) {
            throw new IOException("No " + ModelDirectory.WEIGHTS + " in " + dir + ": create weights with `streamformer model init"
                    + " --config " + dir.resolve(ModelDirectory.CONFIG) + " --out " + dir + "`");
        }
        final Map<String, Tensor> tensors = new LinkedHashMap<>(SafeTensors.read(weights).tensors());
        tensors.keySet().removeAll(IGNORED);
        try {
            return new Checkpoint(config, tensors);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(weights + " does not match " + dir.resolve(ModelDirectory.CONFIG)
                    + ": " + e.getMessage(), e);
        }
    }

    /**
     * Writes config.json and model.safetensors into a directory, creating it if needed.
     *
     * @param dir the directory
     * @throws IOException when the files cannot be written
     */
    public void save(final Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(ModelDirectory.CONFIG), config.toJson(), StandardCharsets.UTF_8);
        SafeTensors.write(dir.resolve(ModelDirectory.WEIGHTS), tensors, Map.of("format", "pt"));
    }

    /**
     * A randomly initialised model, BERT style: weights from a normal distribution with standard
     * deviation 0.02 truncated at two standard deviations, biases zero, LayerNorm gains one; the
     * deltas of relaxed sharing have a random A and a zero B. The
     * same config and seed always give the same weights.
     *
     * @param config the architecture
     * @param seed the random seed
     * @return the checkpoint
     */
    public static Checkpoint random(final ModelConfig config, final long seed) {
        final SplittableRandom random = new SplittableRandom(seed);
        final Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (final ParameterSpec spec : ParameterLayout.of(config)) {
            final float[] values = new float[Math.toIntExact(spec.count())];
            if (isNorm(spec.name()) && spec.name().endsWith(".weight")) {
                Arrays.fill(values, 1f);
            } else if (spec.name().endsWith(".weight") || spec.name().endsWith(ParameterLayout.DELTA_A)) {
                // A delta's B factor starts at zero (LoRA), so a relaxed model starts as its shared base.
                for (int i = 0; i < values.length; i++) {
                    values[i] = (float) (0.02 * truncatedGaussian(random));
                }
            }
            tensors.put(spec.name(), Tensor.ofFloats(spec.shape(), values));
        }
        return new Checkpoint(config, tensors);
    }

    private static boolean isNorm(final String name) {
        return name.contains("LayerNorm") || name.contains("layer_norm");
    }

    private static double truncatedGaussian(final SplittableRandom random) {
        while (true) {
            // Box-Muller, redrawn outside two standard deviations.
            final double u = 1.0 - random.nextDouble();
            final double z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.nextDouble());
            if (Math.abs(z) <= 2) {
                return z;
            }
        }
    }

    /**
     * The values of a tensor as float, dequantizing int8 tensors with their scales.
     *
     * @param name the tensor name
     * @return its values, row-major
     */
    public float[] floats(final String name) {
        final Tensor t = tensors.get(name);
        if (t == null) {
            throw new IllegalArgumentException("No tensor " + name);
        }
        final float[] values = t.toFloats();
        final Tensor scale = tensors.get(name + SCALE_SUFFIX);
        if (t.dtype() == DType.I8 && scale != null) {
            final float[] s = scale.toFloats();
            final int rowLength = values.length / s.length;
            for (int i = 0; i < values.length; i++) {
                values[i] *= s[i / rowLength];
            }
        }
        return values;
    }

    /**
     * The same model with other exit heads ({@link ExitHeads}): per-layer heads start as copies of the
     * model's own pooler and classifier (the head a shared exit would use, so training starts from
     * what the full-depth model reads); heads the new config does not name are dropped.
     *
     * @param exits the exit heads
     * @return the checkpoint with the new config
     */
    public Checkpoint withExits(final ExitHeads exits) {
        if (exits == config.exits()) {
            return this;
        }
        final ModelConfig next = config.withExits(exits);
        final Map<String, Tensor> out = new java.util.LinkedHashMap<>();
        for (final ParameterSpec spec : ParameterLayout.of(next)) {
            final String name = spec.name();
            if (tensors.containsKey(name)) {
                out.put(name, tensors.get(name));
                copyScale(name, name, out);
            } else {
                // streamformer.exits.<layer>.pooler.weight -> albert.pooler.weight, and so on.
                final String rest = name.substring(name.indexOf('.', ParameterLayout.EXITS.length()) + 1);
                final String own = (rest.startsWith(ParameterLayout.POOLER) ? ParameterLayout.POOLER_PREFIX
                        : ParameterLayout.CLASSIFIER_PREFIX) + rest.substring(rest.indexOf('.'));
                out.put(name, tensors.get(own));
                copyScale(own, name, out);
            }
        }
        return new Checkpoint(next, out);
    }

    private void copyScale(final String from, final String to, final Map<String, Tensor> out) {
        final Tensor scale = tensors.get(from + SCALE_SUFFIX);
        if (scale != null) {
            out.put(to + SCALE_SUFFIX, scale);
        }
    }

    /**
     * The same model with every tensor widened to F32 (int8 tensors dequantized with their scales).
     *
     * @return an F32 checkpoint
     */
    public Checkpoint dequantized() {
        final Map<String, Tensor> out = new LinkedHashMap<>();
        for (final ParameterSpec spec : ParameterLayout.of(config)) {
            out.put(spec.name(), Tensor.ofFloats(spec.shape(), floats(spec.name())));
        }
        return new Checkpoint(config, out);
    }

    /**
     * The stored bytes by dtype, counting every tensor once.
     *
     * @return bytes per dtype name
     */
    public Map<String, Long> bytesByDtype() {
        final Map<String, Long> bytes = new LinkedHashMap<>();
        for (final Tensor t : tensors.values()) {
            bytes.merge(t.dtype().name(), t.elements() * t.dtype().bytes(), Long::sum);
        }
        return bytes;
    }

    private static void validate(final ModelConfig config, final Map<String, Tensor> tensors) {
        final List<String> missing = new ArrayList<>();
        final List<String> misShaped = new ArrayList<>();
        final Set<String> expected = new java.util.HashSet<>();
        for (final ParameterSpec spec : ParameterLayout.of(config)) {
            expected.add(spec.name());
            final Tensor t = tensors.get(spec.name());
            if (t == null) {
                missing.add(spec.name());
            } else if (!Arrays.equals(t.shape(), spec.shape())) {
                misShaped.add(spec.name() + " is " + Arrays.toString(t.shape()) + ", expected "
                        + Arrays.toString(spec.shape()));
            }
        }
        final List<String> unexpected = new ArrayList<>();
        for (final Map.Entry<String, Tensor> e : tensors.entrySet()) {
            final String name = e.getKey();
            if (expected.contains(name)) {
                continue;
            }
            final String base = name.endsWith(SCALE_SUFFIX)
                    ? name.substring(0, name.length() - SCALE_SUFFIX.length()) : null;
            final boolean isScale = base != null && expected.contains(base) && tensors.containsKey(base)
                    && tensors.get(base).dtype() == DType.I8;
            if (!isScale) {
                unexpected.add(name);
            }
        }
        if (missing.isEmpty() && unexpected.isEmpty() && misShaped.isEmpty()) {
            return;
        }
        final StringBuilder b = new StringBuilder("the weights do not fit the config (" + config.plan().describe()
                + ", " + config.numKeyValueHeads() + " key/value heads).");
        if (!missing.isEmpty() && !unexpected.isEmpty() && (missing.size() + unexpected.size()) * 2 > expected.size()) {
            // Most tensors named differently: the sharing plan, not the weights, is the likely mistake.
            b.append(" The tensors follow another sharing plan: check config.json's num_hidden_groups and the"
                    + " streamformer block's attention_sharing, attention_groups, ffn_sharing, ffn_groups and"
                    + " num_key_value_heads.");
        }
        if (!missing.isEmpty()) {
            b.append(" Missing ").append(missing.size()).append(": ").append(missing).append('.');
        }
        if (!unexpected.isEmpty()) {
            b.append(" Unexpected ").append(unexpected.size()).append(": ").append(unexpected).append('.');
        }
        if (!misShaped.isEmpty()) {
            b.append(" Wrong shape ").append(misShaped.size()).append(": ").append(misShaped).append('.');
        }
        b.append(" Check that config.json belongs to these weights.");
        throw new IllegalArgumentException(b.toString());
    }
}
