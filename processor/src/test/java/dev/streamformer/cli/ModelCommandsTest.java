package dev.streamformer.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import dev.streamformer.model.Activation;
import dev.streamformer.model.ModelConfig;
import dev.streamformer.model.SharingPlan;
import dev.streamformer.model.SharingStrategy;

/** The model commands as a user runs them: init, stats (table and JSON), predict. */
class ModelCommandsTest {

    @TempDir
    Path dir;

    private record Run(int exitCode, String out, String err) {
    }

    private static Run run(final String stdin, final String... args) {
        final PrintStream out = System.out;
        final PrintStream err = System.err;
        final InputStream in = System.in;
        final ByteArrayOutputStream o = new ByteArrayOutputStream();
        final ByteArrayOutputStream e = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
            System.setIn(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)));
            final int code = StreamformerCli.execute(args);
            return new Run(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(out);
            System.setErr(err);
            System.setIn(in);
        }
    }

    @Test
    void initStatsAndPredictWorkFromTheCommandLine() throws Exception {
        final ModelConfig config = new ModelConfig(100, 16, 32, 6, 4, 2, 64, 32, 2, Activation.GELU, 1e-12, true,
                SharingPlan.both(SharingStrategy.CYCLE, 3), java.util.List.of("ham", "spam"));
        final Path configFile = dir.resolve("config.json");
        Files.writeString(configFile, config.toJson());
        final Path model = dir.resolve("model");

        final Run init = run("", "model", "init", "--config", configFile.toString(), "--seed", "3", "--out", model.toString());
        assertThat(init.exitCode()).isZero();
        assertThat(init.out()).contains("wrote " + model).contains("attention layout   ABCABC");

        final Run again = run("", "model", "init", "--config", configFile.toString(), "--out", model.toString());
        assertThat(again.exitCode()).isEqualTo(1);
        assertThat(again.err()).contains("--force");

        final Run fromConfig = run("", "model", "stats", configFile.toString(), "--json");
        final Run fromDir = run("", "model", "stats", model.toString(), "--json");
        assertThat(fromConfig.exitCode()).isZero();
        final JsonObject a = JsonParser.parseString(fromConfig.out()).getAsJsonObject();
        final JsonObject b = JsonParser.parseString(fromDir.out()).getAsJsonObject();
        assertThat(a.get("unique_parameters")).isEqualTo(b.get("unique_parameters"));
        assertThat(a.get("logical_parameters").getAsLong()).isGreaterThan(a.get("unique_parameters").getAsLong());
        assertThat(a.get("ffn_layout").getAsString()).isEqualTo("ABCABC");

        final Run predict = run("2,5,7,3\n# comment\n\n2,99,3\n2,100,3\n", "model", "predict", "--model", model.toString());
        assertThat(predict.exitCode()).as("one bad line").isEqualTo(1);
        final String[] lines = predict.out().strip().split("\n");
        assertThat(lines).hasSize(2);
        assertThat(JsonParser.parseString(lines[0]).getAsJsonObject().get("line").getAsInt()).isEqualTo(1);
        assertThat(lines[0]).contains("\"probabilities\"").contains("\"ham\"");
        assertThat(predict.err()).contains("line 5").contains("token id 100");

        final Run logits = run("2,5,7,3\n", "model", "predict", "--model", model.toString(), "--logits");
        assertThat(logits.exitCode()).isZero();
        assertThat(JsonParser.parseString(logits.out()).getAsJsonObject().getAsJsonArray("logits")).hasSize(2);
    }

    @Test
    void missingModelGivesAClearMessageAndExitCodeOne() {
        final Run r = run("", "model", "predict", "--model", dir.resolve("nowhere").toString());
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).contains("No model config at").contains("streamformer model init");
    }

    @Test
    void unknownOptionsExitWithTwo() {
        assertThat(run("", "model", "stats", "--frobnicate").exitCode()).isEqualTo(2);
    }
}
