package dev.streamformer.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A loaded model ready to serve: one copy of the weights, on one engine, that any number of
 * threads may call at once. A directory with {@code config.json} and {@code model.safetensors}
 * runs on either engine (on ONNX Runtime through the encoder graph built at load); a directory with
 * {@code model.onnx} (any sequence classifier exported the Hugging Face way) and {@code config.json}
 * runs on ONNX Runtime.
 */
public final class InferenceModel implements AutoCloseable {

    private final String name;
    private final String version;
    private final ModelConfig config;
    private final ParameterStats stats;
    private final EngineSettings settings;
    private final ForwardPass forward;
    private final SpecialTokens special;
    private final ExitPolicy exitPolicy;

    /**
     * Wraps a checkpoint on the default engine (ONNX Runtime, one intra-op thread).
     *
     * @param name the model name reported in predictions
     * @param version the content hash reported in predictions
     * @param checkpoint the weights
     */
    public InferenceModel(final String name, final String version, final Checkpoint checkpoint) {
        this(name, version, checkpoint, EngineSettings.DEFAULT);
    }

    /**
     * Wraps a checkpoint on a chosen engine.
     *
     * @param name the model name reported in predictions
     * @param version the content hash reported in predictions
     * @param checkpoint the weights
     * @param settings the engine and its threads
     */
    public InferenceModel(final String name, final String version, final Checkpoint checkpoint,
            final EngineSettings settings) {
        this(name, version, checkpoint, settings, SpecialTokens.NONE, ExitPolicy.NONE);
    }

    private InferenceModel(final String name, final String version, final Checkpoint checkpoint,
            final EngineSettings settings, final SpecialTokens special, final ExitPolicy exitPolicy) {
        this(name, version, checkpoint.config(), ParameterStats.of(checkpoint), settings,
                Engines.get(settings.engine()).forward(checkpoint, name, settings), special, exitPolicy);
    }

    private InferenceModel(final String name, final String version, final ModelConfig config,
            final ParameterStats stats, final EngineSettings settings, final ForwardPass forward,
            final SpecialTokens special, final ExitPolicy exitPolicy) {
        this.name = name;
        this.version = version;
        this.config = config;
        this.stats = stats;
        this.settings = settings;
        this.forward = forward;
        this.special = special;
        this.exitPolicy = exitPolicy;
    }

    /**
     * Loads a model directory on the default engine.
     *
     * @param dir the model directory
     * @return the model
     * @throws IOException when the directory cannot be read
     */
    public static InferenceModel load(final Path dir) throws IOException {
        return load(dir, EngineSettings.DEFAULT);
    }

    /**
     * Loads a model directory. The name is the directory's name and the version its content hash.
     *
     * @param dir the model directory
     * @param settings the engine and its threads
     * @return the model
     * @throws IOException when the directory cannot be read
     */
    public static InferenceModel load(final Path dir, final EngineSettings settings) throws IOException {
        return load(dir, dir.toAbsolutePath().normalize().getFileName().toString(), settings);
    }

    /**
     * Loads a model directory under a given name.
     *
     * @param dir the model directory
     * @param name the model name reported in predictions
     * @param settings the engine and its threads
     * @return the model
     * @throws IOException when the directory cannot be read
     */
    public static InferenceModel load(final Path dir, final String name, final EngineSettings settings)
            throws IOException {
        final Path abs = dir.toAbsolutePath().normalize();
        final Path onnx = abs.resolve(ModelDirectory.ONNX);
        if (!Files.isRegularFile(onnx)) {
            final Checkpoint checkpoint = Checkpoint.load(abs);
            return new InferenceModel(name, ModelDirectory.version(abs), checkpoint, settings, SpecialTokens.read(abs),
                    ExitPolicy.read(abs));
        }
        final ModelConfig config = ModelConfig.read(abs);
        final EngineProvider.Exported exported = Engines.get(settings.engine()).exported(onnx, config, settings);
        return new InferenceModel(name, ModelDirectory.version(abs), config, exported.stats(), settings,
                exported.forward(), SpecialTokens.read(abs), ExitPolicy.NONE);
    }

    /**
     * This model under another name (a model directory published under a name of its own), sharing
     * this one's weights and pass: close this model, not the view.
     *
     * @param otherName the name predictions report
     * @return the view
     */
    public InferenceModel named(final String otherName) {
        return new InferenceModel(otherName, version, config, stats, settings, forward, special, exitPolicy);
    }

    /** @return the model name */
    public String name() {
        return name;
    }

    /** @return the content hash */
    public String version() {
        return version;
    }

    /** @return the engine that runs the forward pass */
    public InferenceEngine engine() {
        return settings.engine();
    }

    /** @return how the model was loaded */
    public EngineSettings settings() {
        return settings;
    }

    /** @return the architecture (for a model.onnx directory: what its config.json says) */
    public ModelConfig config() {
        return config;
    }

    /** @return the parameter statistics */
    public ParameterStats stats() {
        return stats;
    }

    /**
     * @return the engine's forward pass, for what only that engine offers (the PyTorch engine's
     *     encoder, which trains); close the model, not the pass
     */
    public ForwardPass forwardPass() {
        return forward;
    }

    /**
     * Checks one input against this model without running it.
     *
     * @param input the sequence
     * @return the input, which {@link #run} takes without checking it again
     * @throws InvalidInputException naming the problem and the fix
     */
    public ValidInput validate(final EncoderInput input) {
        EncoderBatch.validate(config, -1, input);
        if (special.onlySpecial(input)) {
            throw new InvalidInputException(-1, "the text is empty: the input holds only special tokens ("
                    + special.describe(input.tokenIds()) + "); send a text with words in it, or token ids of its words"
                    + " between [CLS] and [SEP]");
        }
        return new ValidInput(input, config);
    }

    /**
     * Runs a batch of inputs this model has validated.
     *
     * @param inputs the inputs; lengths may differ, the batch is padded and masked
     * @return one output per input, in order
     * @throws IllegalArgumentException when an input was validated by a model of another config
     */
    public List<ModelOutput> run(final List<ValidInput> inputs) {
        return outputs(padded(inputs));
    }

    /**
     * This model with its forward pass wrapped, for instrumentation or fault injection: the same
     * name, version, config and statistics, every pass through {@code wrap}'s pass. Build the wrapper on
     * {@link DelegatingForwardPass}, so that the calls it does not intercept (early exit, refill) still
     * reach this model's pass.
     *
     * @param wrap given this model's pass, returns the pass to run instead (it closes the original)
     * @return the wrapped model; it owns the pass, so close it instead of this one
     */
    public InferenceModel wrapped(final java.util.function.UnaryOperator<ForwardPass> wrap) {
        return new InferenceModel(name, version, config, stats, settings, wrap.apply(forward), special, exitPolicy);
    }

    /**
     * Runs a batch of sequences.
     *
     * @param inputs the sequences; lengths may differ, the batch is padded and masked
     * @return one output per input, in order
     * @throws InvalidInputException when an input cannot run
     */
    public List<ModelOutput> predict(final List<EncoderInput> inputs) {
        return outputs(EncoderBatch.of(config, inputs));
    }

    /**
     * Runs a batch of sequences with early exit: each leaves after the first layer the policy lets it
     * go, with that exit's answer (a model with {@link ExitHeads}; {@link ExitPolicy#NONE} runs every layer).
     *
     * @param inputs the sequences
     * @param policy when a record leaves; {@link #exitPolicy()} is the model's default
     * @return one output per input, in order, with the layers it ran
     * @throws IllegalArgumentException when the model has no exit heads and the policy is not none
     */
    public List<Exit> predict(final List<EncoderInput> inputs, final ExitPolicy policy) {
        return exits(EncoderBatch.of(config, inputs), policy, inputs.size());
    }

    /**
     * Runs sequences with early exit, at most {@code width} at once: when records leave, the next
     * sequences take their rows, in one product with the deeper rows that use the same weights
     * ({@link ForwardPass#logitsWithRefill}).
     *
     * @param inputs the sequences, in the order they start
     * @param policy when a record leaves
     * @param width the rows in one product
     * @return one output per input, in order, with the layers it ran
     */
    public List<Exit> predict(final List<EncoderInput> inputs, final ExitPolicy policy, final int width) {
        return exits(EncoderBatch.of(config, inputs), policy, width);
    }

    /**
     * Runs a batch of inputs this model has validated, with early exit ({@link #predict(List, ExitPolicy)}).
     *
     * @param inputs the inputs
     * @param policy when a record leaves
     * @return one output per input, in order, with the layers it ran
     */
    public List<Exit> run(final List<ValidInput> inputs, final ExitPolicy policy) {
        return exits(padded(inputs), policy, inputs.size());
    }

    /**
     * Runs a batch of inputs this model has validated with early exit, and says of each input as soon
     * as it leaves: on a layer-by-layer engine, the inputs that leave after layer k are told of before
     * layer k + 1 runs (others tell of every input at the end).
     *
     * @param inputs the inputs
     * @param policy when a record leaves
     * @param leaving told of each input (its index and answer) as it leaves
     * @return one output per input, in order, with the layers it ran
     */
    public List<Exit> run(final List<ValidInput> inputs, final ExitPolicy policy,
            final java.util.function.ObjIntConsumer<Exit> leaving) {
        return run(inputs, policy, inputs.size(), leaving);
    }

    /**
     * Runs inputs this model has validated with early exit, at most {@code width} at once (depth-wise
     * refill, {@link #predict(List, ExitPolicy, int)}), and says of each input as soon as it leaves.
     *
     * @param inputs the inputs, in the order they start
     * @param policy when a record leaves
     * @param width the rows in one product; the number of inputs or more runs them as one shrinking batch
     * @param leaving told of each input (its index and answer) as it leaves
     * @return one output per input, in order, with the layers it ran
     */
    public List<Exit> run(final List<ValidInput> inputs, final ExitPolicy policy, final int width,
            final java.util.function.ObjIntConsumer<Exit> leaving) {
        if (policy.kind() == ExitPolicy.Kind.NONE) {
            final List<Exit> all = exits(padded(inputs), policy, inputs.size());
            for (int i = 0; i < all.size(); i++) {
                leaving.accept(all.get(i), i);
            }
            return all;
        }
        requireExitHeads(policy);
        final int c = config.numLabels();
        final ForwardPass.Leaving told = (row, logits, layers) -> leaving.accept(
                new Exit(ModelOutput.ofRow(logits, 0, c), layers), row);
        final ForwardPass.Exited exited = width >= inputs.size() ? forward.logitsWithExits(padded(inputs), policy, told)
                : forward.logitsWithRefill(padded(inputs), width, policy, told);
        return exitsOf(exited, inputs.size());
    }

    /**
     * Runs inputs this model has validated with early exit, at most {@code width} at once
     * ({@link #predict(List, ExitPolicy, int)}).
     *
     * @param inputs the inputs, in the order they start
     * @param policy when a record leaves
     * @param width the rows in one product
     * @return one output per input, in order, with the layers it ran
     */
    public List<Exit> run(final List<ValidInput> inputs, final ExitPolicy policy, final int width) {
        return exits(padded(inputs), policy, width);
    }

    /** @return the inputs as one padded batch, after checking that this model validated them */
    private EncoderBatch padded(final List<ValidInput> inputs) {
        final List<EncoderInput> plain = new ArrayList<>(inputs.size());
        for (final ValidInput v : inputs) {
            if (v.config() != config) {
                throw new IllegalArgumentException("an input validated for another model was passed to " + name);
            }
            plain.add(v.input());
        }
        return EncoderBatch.pad(plain);
    }

    private List<Exit> exits(final EncoderBatch batch, final ExitPolicy policy, final int width) {
        if (policy.kind() == ExitPolicy.Kind.NONE) {
            final List<ModelOutput> full = outputs(batch);
            return full.stream().map(o -> new Exit(o, config.numLayers())).toList();
        }
        requireExitHeads(policy);
        return exitsOf(width >= batch.size() ? forward.logitsWithExits(batch, policy)
                : forward.logitsWithRefill(batch, width, policy), batch.size());
    }

    private void requireExitHeads(final ExitPolicy policy) {
        if (config.exits() == ExitHeads.NONE) {
            throw new IllegalArgumentException("model " + name + " has no exit heads, so it cannot leave early (exit"
                    + " policy " + policy + "): finetune it with --exits shared or --exits per-layer, or use --exit none");
        }
    }

    private List<Exit> exitsOf(final ForwardPass.Exited exited, final int size) {
        final List<Exit> out = new ArrayList<>(size);
        for (int i = 0; i < size; i++) {
            out.add(new Exit(ModelOutput.ofRow(exited.logits(), i, config.numLabels()), exited.layers()[i]));
        }
        return out;
    }

    /** @return the exit policy the model directory names (config.json streamformer.exit_policy), else none */
    public ExitPolicy exitPolicy() {
        return exitPolicy;
    }

    /**
     * A record's answer with early exit.
     *
     * @param output the answer of the exit it left by
     * @param layers the layers it ran, 1 to L
     */
    public record Exit(ModelOutput output, int layers) {
    }

    private List<ModelOutput> outputs(final EncoderBatch batch) {
        final float[] logits = forward.logits(batch);
        final int c = config.numLabels();
        final List<ModelOutput> results = new ArrayList<>(batch.size());
        for (int i = 0; i < batch.size(); i++) {
            results.add(ModelOutput.ofRow(logits, i, c));
        }
        return results;
    }

    @Override
    public void close() {
        forward.close();
    }
}
