package dev.streamformer.release.internals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import dev.streamformer.model.EncoderInput;
import dev.streamformer.model.InferenceModel;
import dev.streamformer.model.ModelDirectory;
import dev.streamformer.model.ModelOutput;
import dev.streamformer.text.TextTokenizer;

/**
 * The checks a model version passes before it serves, run by every processor before it switches to
 * a release and by {@code model publish} before it writes one, so that a version the processors
 * would refuse is never announced. Loading ({@link InferenceModel#load}) checks the config and the
 * tensors against it; these check the rest.
 */
public final class VersionCheck {

    private VersionCheck() {
    }

    /**
     * A loaded version serves: its tokenizer (when it has one) loads and tokenizes, and a forward pass
     * of two inputs gives finite logits, one per label.
     *
     * @param model the loaded version
     * @param dir its directory
     * @throws IllegalArgumentException naming the fault
     * @throws IOException when the tokenizer cannot be read
     */
    public static void servable(final InferenceModel model, final Path dir) throws IOException {
        if (Files.isRegularFile(dir.resolve(ModelDirectory.TOKENIZER))) {
            try (TextTokenizer tokenizer = TextTokenizer.load(dir, model.config().maxPositions())) {
                final int[] ids = tokenizer.encode("a check of the tokenizer");
                for (final int id : ids) {
                    if (id < 0 || id >= model.config().vocabSize()) {
                        throw new IllegalArgumentException("its tokenizer.json gives token id " + id + ", outside the"
                                + " vocab_size " + model.config().vocabSize() + " of its config.json: ship the"
                                + " tokenizer the model was trained with");
                    }
                }
            } catch (RuntimeException e) {
                if (e instanceof IllegalArgumentException) {
                    throw e;
                }
                throw new IllegalArgumentException("its tokenizer.json does not load: " + e.getMessage(), e);
            }
        }
        final int[] ids = new int[8];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = Math.min(i + 1, model.config().vocabSize() - 1);
        }
        final List<ModelOutput> out = model.run(List.of(model.validate(EncoderInput.of(ids)),
                model.validate(EncoderInput.of(1))));
        for (final ModelOutput o : out) {
            if (o.logits().length != model.config().numLabels()) {
                throw new IllegalArgumentException("a forward pass gave " + o.logits().length + " logits for "
                        + model.config().numLabels() + " labels");
            }
            for (final float z : o.logits()) {
                if (!Float.isFinite(z)) {
                    throw new IllegalArgumentException("a forward pass gave non-finite logits "
                            + Arrays.toString(o.logits()));
                }
            }
        }
    }

    /**
     * A version may replace another under the same name: the same labels (predictions are read for
     * them) and the same vocabulary (requests were tokenized for it).
     *
     * @param next the new version
     * @param nextDir its directory
     * @param now the version it replaces
     * @param nowDir that one's directory
     * @throws IllegalArgumentException naming the difference and the fix
     * @throws IOException when a vocabulary file cannot be read
     */
    public static void replaces(final InferenceModel next, final Path nextDir, final InferenceModel now,
            final Path nowDir) throws IOException {
        final List<String> labels = now.config().labels();
        if (!next.config().labels().equals(labels)) {
            throw new IllegalArgumentException("its labels " + next.config().labels() + " are not those served, "
                    + labels + ": publish it under another --name");
        }
        if (next.config().vocabSize() != now.config().vocabSize()) {
            throw new IllegalArgumentException("its vocabulary has " + next.config().vocabSize() + " tokens, the served"
                    + " one " + now.config().vocabSize() + ": requests tokenized for the served version would mean"
                    + " other words; publish it under another --name");
        }
        for (final String file : ModelDirectory.TOKENIZER_FILES) {
            final Path a = nextDir.resolve(file);
            final Path b = nowDir.resolve(file);
            if (Files.isRegularFile(a) && Files.isRegularFile(b)) {
                if (!Arrays.equals(Files.readAllBytes(a), Files.readAllBytes(b))) {
                    throw new IllegalArgumentException("its vocabulary (" + file + ") differs from the served one:"
                            + " requests tokenized for the served version would mean other words; publish it under"
                            + " another --name");
                }
                return;
            }
        }
    }
}
