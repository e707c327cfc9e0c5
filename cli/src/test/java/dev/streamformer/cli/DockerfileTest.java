package dev.streamformer.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

/** The image builds every module: its build stage copies each module the root pom lists. */
class DockerfileTest {

    @Test
    void theBuildStageCopiesEveryModuleOfTheBuild() throws Exception {
        final String pom = Files.readString(Path.of("..", "pom.xml"));
        final String dockerfile = Files.readString(Path.of("..", "docker", "Dockerfile"));
        final Matcher module = Pattern.compile("<module>([^<]+)</module>").matcher(pom);
        int modules = 0;
        while (module.find()) {
            modules++;
            assertThat(dockerfile).as("docker/Dockerfile copies module " + module.group(1))
                    .containsPattern("(?m)^COPY " + Pattern.quote(module.group(1)) + " " + Pattern.quote(module.group(1)) + "$");
        }
        assertThat(modules).isGreaterThan(5);
    }
}
