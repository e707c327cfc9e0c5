package dev.streamformer.cli;

import java.nio.file.Files;
import java.nio.file.Path;

import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.InferenceModel;
import dev.streamformer.model.ModelDirectory;
import dev.streamformer.model.ParameterStats;
import dev.streamformer.train.ModelTrainer;

/** Shared by share, prune and quantize: statistics before and after, then the new model directory. */
final class CompressionRun {

    private CompressionRun() {
    }

    static int write(final String step, final Path source, final Checkpoint before, final Checkpoint after,
            final Path out) throws Exception {
        final ParameterStats a = ParameterStats.of(before);
        final ParameterStats b = ParameterStats.of(after);
        System.out.printf("== before %s%n%s%n== after %s%n%s%n", step, a.toTable(), step, b.toTable());
        ModelDirectory.save(after, source, out);
        System.out.printf("wrote %s (version %s): unique parameters %,d -> %,d, weights %.2f MB -> %.2f MB (file %.2f MB)%n",
                out, ModelDirectory.version(out), a.uniqueParameters(), b.uniqueParameters(), a.totalBytes() / 1e6,
                b.totalBytes() / 1e6, Files.size(out.resolve(ModelDirectory.WEIGHTS)) / 1e6);
        return 0;
    }
}
