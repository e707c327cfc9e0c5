package dev.streamformer.model;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import dev.streamformer.model.onnx.EncoderGraph;
import dev.streamformer.model.onnx.OnnxForward;
import dev.streamformer.model.onnx.OnnxModelFile;
import dev.streamformer.model.onnx.SessionSettings;

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
        this(name, version, checkpoint.config(), ParameterStats.of(checkpoint), settings, switch (settings.engine()) {
            case PYTORCH -> new PyTorchForward(checkpoint, settings.intraOpThreads());
            case ONNXRUNTIME -> OnnxForward.fromBytes(EncoderGraph.build(checkpoint, name).toByteArray(),
                    checkpoint.config().numLabels(), SessionSettings.of(settings.intraOpThreads(), settings.prepacking()));
        });
    }

    private InferenceModel(final String name, final String version, final ModelConfig config,
            final ParameterStats stats, final EngineSettings settings, final ForwardPass forward) {
        this.name = name;
        this.version = version;
        this.config = config;
        this.stats = stats;
        this.settings = settings;
        this.forward = forward;
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
        final Path onnx = abs.resolve(OnnxModelFile.FILE_NAME);
        if (!Files.isRegularFile(onnx)) {
            final Checkpoint checkpoint = Checkpoint.load(abs);
            return new InferenceModel(name, version(abs), checkpoint, settings);
        }
        if (settings.engine() != InferenceEngine.ONNXRUNTIME) {
            throw new IllegalArgumentException(abs + " holds " + OnnxModelFile.FILE_NAME + ", which only the "
                    + InferenceEngine.ONNXRUNTIME + " engine serves: use --engine " + InferenceEngine.ONNXRUNTIME
                    + " (the " + settings.engine() + " engine needs config.json and " + Checkpoint.WEIGHTS_FILE + ")");
        }
        final ModelConfig config = ModelConfig.read(abs);
        final OnnxForward forward = OnnxForward.fromFile(onnx, config.numLabels(),
                SessionSettings.of(settings.intraOpThreads(), settings.prepacking()));
        return new InferenceModel(name, version(abs), config, OnnxModelFile.read(onnx).stats(), settings, forward);
    }

    /**
     * The content hash of a model directory: the first 16 hex digits of the SHA-256 of config.json
     * followed by its weights (model.onnx when present, else model.safetensors).
     *
     * @param dir the model directory
     * @return the version
     * @throws IOException when the files cannot be read
     */
    public static String version(final Path dir) throws IOException {
        final String weights = Files.isRegularFile(dir.resolve(OnnxModelFile.FILE_NAME))
                ? OnnxModelFile.FILE_NAME : Checkpoint.WEIGHTS_FILE;
        try {
            final MessageDigest digest = MessageDigest.getInstance("SHA-256");
            for (final String file : List.of(ModelConfig.FILE_NAME, weights)) {
                try (InputStream in = new DigestInputStream(Files.newInputStream(dir.resolve(file)), digest)) {
                    in.transferTo(java.io.OutputStream.nullOutputStream());
                }
            }
            return HexFormat.of().formatHex(digest.digest()).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
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
     * The PyTorch encoder, whose weights are shared by every caller.
     *
     * @return the encoder
     * @throws IllegalStateException when another engine serves this model
     */
    public SharedEncoder encoder() {
        if (forward instanceof PyTorchForward p) {
            return p.encoder();
        }
        throw new IllegalStateException("Model " + name + " runs on " + settings.engine() + ", not on "
                + InferenceEngine.PYTORCH);
    }

    /**
     * Checks one input against this model without running it.
     *
     * @param input the sequence
     * @throws InvalidInputException naming the problem and the fix
     */
    public void validate(final EncoderInput input) {
        EncoderBatch.validate(config, -1, input);
    }

    /**
     * Runs a batch of sequences.
     *
     * @param inputs the sequences; lengths may differ, the batch is padded and masked
     * @return one output per input, in order
     * @throws InvalidInputException when an input cannot run
     */
    public List<ModelOutput> predict(final List<EncoderInput> inputs) {
        final EncoderBatch batch = EncoderBatch.of(config, inputs);
        final float[] logits = forward.logits(batch);
        final int c = config.numLabels();
        final List<ModelOutput> results = new ArrayList<>(inputs.size());
        for (int i = 0; i < inputs.size(); i++) {
            results.add(ModelOutput.ofRow(logits, i, c));
        }
        return results;
    }

    @Override
    public void close() {
        forward.close();
    }
}
