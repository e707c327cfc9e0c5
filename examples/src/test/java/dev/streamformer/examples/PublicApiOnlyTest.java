package dev.streamformer.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/** The example shows what an application may use: nothing from an {@code internals} package of Streamformer. */
class PublicApiOnlyTest {

    @Test
    void theExampleUsesNoInternalsPackage() throws IOException {
        final List<Path> sources;
        try (Stream<Path> files = Files.walk(Path.of("src"))) {
            sources = files.filter(p -> p.toString().endsWith(".java")).toList();
        }
        assertThat(sources).as("the example's sources").isNotEmpty();
        for (final Path file : sources) {
            assertThat(Files.readString(file)).as(file.toString())
                    .doesNotContainPattern("dev\\.streamformer\\.[\\w.]*internals");
        }
    }
}
