package dev.streamformer.release;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.streamformer.TinyModel;
import dev.streamformer.model.ModelDirectory;
import dev.streamformer.schemas.ModelArtifact;

class ModelPackageTest {

    @TempDir
    Path tmp;

    @Test
    void inlineFilesUnpackToADirectoryOfTheSameVersion() throws Exception {
        final Path model = TinyModel.save(tmp.resolve("model"));
        Files.writeString(model.resolve(ModelDirectory.VOCAB), "[PAD]\n[UNK]\n");
        final ModelArtifact artifact = ModelReleases.artifact(model, null);
        final Path dir = ModelPackage.unpack(artifact, tmp.resolve("cache"));
        assertThat(ModelDirectory.version(dir)).isEqualTo(artifact.getVersion()).isEqualTo(ModelDirectory.version(model));
        assertThat(Files.readString(dir.resolve(ModelDirectory.VOCAB))).isEqualTo("[PAD]\n[UNK]\n");
        // Unpacked once: a second unpack reuses the complete copy.
        assertThat(ModelPackage.unpack(artifact, tmp.resolve("cache"))).isEqualTo(dir);
    }

    @Test
    void aLocationIsCopiedAndItsHashChecked() throws Exception {
        final Path model = TinyModel.save(tmp.resolve("shared-volume"));
        final ModelArtifact artifact = ModelReleases.artifact(model, model.toUri().toString());
        assertThat(artifact.getFiles()).isNull();
        final Path dir = ModelPackage.unpack(artifact, tmp.resolve("cache"));
        assertThat(ModelDirectory.version(dir)).isEqualTo(artifact.getVersion());
        // The directory changed after it was published: refused, with the fix.
        Files.writeString(model.resolve(ModelDirectory.CARD), "edited\n");
        assertThatThrownBy(() -> ModelPackage.unpack(artifact, tmp.resolve("other-cache")))
                .isInstanceOf(IOException.class).hasMessageContaining("hash to").hasMessageContaining("publish it again");
    }

    @Test
    void aPackageHoldsOnlyModelFiles() throws Exception {
        final Path model = TinyModel.save(tmp.resolve("model"));
        final ModelArtifact good = ModelReleases.artifact(model, null);
        final ModelArtifact bad = ModelArtifact.newBuilder(good).setFiles(new java.util.HashMap<>(good.getFiles())).build();
        bad.getFiles().put("../../etc/cron.d/x", java.nio.ByteBuffer.wrap(new byte[] {1}));
        assertThatThrownBy(() -> ModelPackage.unpack(bad, tmp.resolve("cache")))
                .isInstanceOf(IOException.class).hasMessageContaining("a model package holds only");
    }
}
