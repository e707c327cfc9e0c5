package dev.streamformer.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

/** The image builds every module: its build stage copies each module the root pom lists; compose mounts files that exist. */
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

    /** No Docker engine runs here to try compose.yaml; at least every file it mounts from the repository exists. */
    @Test
    void everyFileTheComposeClusterMountsExists() throws Exception {
        final Path docker = Path.of("..", "docker");
        final Matcher mount = Pattern.compile("(?m)^\\s+- (\\.{1,2}/[^:]+):").matcher(Files.readString(docker.resolve("compose.yaml")));
        int mounts = 0;
        while (mount.find()) {
            mounts++;
            assertThat(docker.resolve(mount.group(1))).as("compose.yaml mounts " + mount.group(1)).isRegularFile();
        }
        assertThat(mounts).as("mounts found").isGreaterThanOrEqualTo(8);
    }
}
