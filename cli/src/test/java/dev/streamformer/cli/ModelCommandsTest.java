package dev.streamformer.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import dev.streamformer.corpus.DemoSample;
import dev.streamformer.model.Activation;
import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.DefaultModel;
import dev.streamformer.model.ExitPolicy;
import dev.streamformer.model.EncoderInput;
import dev.streamformer.model.InferenceModel;
import dev.streamformer.model.ModelConfig;
import dev.streamformer.model.ModelDirectory;
import dev.streamformer.model.SharingPlan;
import dev.streamformer.model.SharingStrategy;
import dev.streamformer.text.TextTokenizer;

/** The model commands as a user runs them: init, stats (table and JSON), predict, classify; produce's input check. */
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

    /** A seeded random model (vocabulary 100, E=16, H=32, 4 heads, F=64) written by `model init`. */
    private Path init(final String name, final int layers, final SharingPlan plan) throws Exception {
        final ModelConfig config = new ModelConfig(100, 16, 32, layers, 4, 4, 64, 32, 2, Activation.GELU_NEW, 1e-12,
                true, plan, java.util.List.of("ham", "spam"));
        final Path configFile = dir.resolve(name + ".json");
        Files.writeString(configFile, config.toJson());
        final Path model = dir.resolve(name);
        final Run init = run("", "model", "init", "--config", configFile.toString(), "--out", model.toString());
        assertThat(init.exitCode()).as(init.err()).isZero();
        return model;
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
    void shareWithRelaxRankWritesDeltasThatStatsCountAndBothEnginesServe() throws Exception {
        final Path none = init("none", 6, SharingPlan.NONE);
        final Path relaxed = dir.resolve("relaxed");
        final Run share = run("", "model", "share", "--model", none.toString(), "--relax-rank", "4", "--out",
                relaxed.toString());
        assertThat(share.exitCode()).as(share.err()).isZero();
        assertThat(share.out()).contains("layer deltas").contains("relaxed(rank 4)");
        final JsonObject stats = JsonParser.parseString(run("", "model", "stats", relaxed.toString(), "--json").out())
                .getAsJsonObject();
        // Per layer: 4 x 4 x (32 + 32) + 4 x (64 + 32) + 2 x 4 x (32 + 64) factors, and the vectors.
        final long factors = 4L * 4 * 64 + 4L * 96 * 2;
        final long vectors = 4 * 32 + 64 + 32 + 4 * 32;
        assertThat(stats.get("delta_parameters").getAsLong()).isEqualTo(6 * (factors + vectors));
        assertThat(ModelConfig.read(relaxed).relaxRank()).isEqualTo(4);
        final String[] outputs = new String[2];
        int i = 0;
        for (final String engine : new String[] {"onnxruntime", "pytorch"}) {
            final Run predict = run("2,5,7,3\n", "model", "predict", "--model", relaxed.toString(), "--logits",
                    "--engine", engine);
            assertThat(predict.exitCode()).as(predict.err()).isZero();
            outputs[i++] = predict.out();
        }
        final var a = JsonParser.parseString(outputs[0]).getAsJsonObject().getAsJsonArray("logits");
        final var b = JsonParser.parseString(outputs[1]).getAsJsonObject().getAsJsonArray("logits");
        assertThat(a.get(0).getAsFloat()).isCloseTo(b.get(0).getAsFloat(), within(1e-4f));

        final Run negative = run("", "model", "share", "--model", none.toString(), "--relax-rank", "-1", "--out",
                dir.resolve("bad").toString());
        assertThat(negative.exitCode()).isEqualTo(1);
        assertThat(negative.err()).contains("--relax-rank");
        final Run unshared = run("", "model", "share", "--model", none.toString(), "--attention", "none", "--ffn",
                "none", "--relax-rank", "4", "--out", dir.resolve("bad2").toString());
        assertThat(unshared.exitCode()).isEqualTo(1);
        assertThat(unshared.err()).contains("relax_rank=4 needs a plan in which layers share a set");
    }

    @Test
    void priorMovesTheLogitDifferenceByTheLogOddsOfTheSharesAndComposes() throws Exception {
        final Path model = init("trained", 2, SharingPlan.ALL);
        final Run bare = run("", "model", "prior", "--model", model.toString(), "--share", "spam=0.5", "--out",
                dir.resolve("bad").toString());
        assertThat(bare.exitCode()).isEqualTo(1);
        assertThat(bare.err()).contains("no training.json").contains("--trained-share spam=<share>");
        final Path onnxOnly = dir.resolve("onnx-only");
        Files.createDirectories(onnxOnly);
        Files.writeString(onnxOnly.resolve("model.onnx"), "not read");
        final Run onnx = run("", "model", "prior", "--model", onnxOnly.toString(), "--share", "spam=0.5", "--out",
                dir.resolve("bad2").toString());
        assertThat(onnx.exitCode()).isEqualTo(1);
        assertThat(onnx.err()).contains("is an ONNX model without model.safetensors");

        final Path half = dir.resolve("half");
        final Run shift = run("", "model", "prior", "--model", model.toString(), "--trained-share", "spam=0.2",
                "--share", "spam=0.5", "--out", half.toString());
        assertThat(shift.exitCode()).as(shift.err()).isZero();
        assertThat(shift.out()).contains("spam         training share 0.2000 -> served share 0.5000");
        assertThat(half.resolve("prior.json")).isRegularFile();
        // Shifting again starts from the shares the shifted model serves (0.5), not from the training data's.
        final Path back = dir.resolve("back");
        assertThat(run("", "model", "prior", "--model", half.toString(), "--share", "spam=0.2", "--out",
                back.toString()).exitCode()).isZero();
        final double[] difference = new double[3];
        int i = 0;
        for (final Path m : new Path[] {model, half, back}) {
            final var logits = JsonParser.parseString(run("2,5,7,3\n", "model", "predict", "--model", m.toString(),
                    "--logits").out()).getAsJsonObject().getAsJsonArray("logits");
            difference[i++] = logits.get(1).getAsDouble() - logits.get(0).getAsDouble();
        }
        // log odds of spam move by log((0.5 / 0.5) / (0.2 / 0.8)) = log 4, and back.
        assertThat(difference[1] - difference[0]).isCloseTo(Math.log(4), within(1e-4));
        assertThat(difference[2]).isCloseTo(difference[0], within(1e-4));
    }

    @Test
    void averageWritesTheMeanOfTheCheckpointsWithTheTokenizerOfTheFirstModel() throws Exception {
        final Path a = init("avg-a", 3, SharingPlan.ALL);
        final Path b = dir.resolve("avg-b");
        assertThat(run("", "model", "init", "--config", dir.resolve("avg-a.json").toString(), "--seed", "9", "--out",
                b.toString()).exitCode()).isZero();
        Files.writeString(a.resolve(ModelDirectory.TOKENIZER), "{}");
        final Path out = dir.resolve("avg");
        final Run avg = run("", "model", "average", "--out", out.toString(), a.toString(), b.toString());
        assertThat(avg.exitCode()).as(avg.err()).isZero();
        assertThat(avg.out()).contains("the mean of 2 checkpoints");
        assertThat(out.resolve(ModelDirectory.TOKENIZER)).hasContent("{}");
        final Checkpoint mean = Checkpoint.load(out);
        final String name = mean.tensors().keySet().iterator().next();
        final float[] x = Checkpoint.load(a).floats(name);
        final float[] y = Checkpoint.load(b).floats(name);
        assertThat(mean.floats(name)[0]).isCloseTo((x[0] + y[0]) / 2, org.assertj.core.data.Offset.offset(1e-6f));

        final Run noTokenizer = run("", "model", "average", "--out", dir.resolve("x").toString(), b.toString(), b.toString());
        assertThat(noTokenizer.exitCode()).isEqualTo(1);
        assertThat(noTokenizer.err()).contains("--tokenizer");
    }

    /** Ten short e-mails in every group of the corpus layout. */
    private Path tinyCorpus() throws Exception {
        final Path corpus = dir.resolve("corpus");
        for (final var group : dev.streamformer.corpus.Corpus.GROUPS.entrySet()) {
            Files.createDirectories(corpus.resolve(group.getKey()));
            for (int i = 0; i < 10; i++) {
                final String body = group.getValue() ? "Subject: free money " + i + "\n\nClick now to win cash, offer " + i
                        : "Subject: meeting notes " + i + "\n\nThe build is green, see the review " + i;
                Files.writeString(corpus.resolve(group.getKey()).resolve(i + ".txt"), body);
            }
        }
        return corpus;
    }

    @Test
    void evalWritesEveryScoredEmailToTheScoresFileAndItsMetricsFollowFromThem() throws Exception {
        final Path corpus = tinyCorpus();
        final Path scores = dir.resolve("scores.csv");
        final Run eval = run("", "model", "eval", "--data", corpus.toString(), "--part", "validation", "--json",
                "--scores", scores.toString());
        assertThat(eval.exitCode()).as(eval.err()).isZero();
        final JsonObject metrics = JsonParser.parseString(eval.out()).getAsJsonObject();
        final List<String> lines = Files.readAllLines(scores);
        assertThat(lines.get(0)).isEqualTo("id,label,p_spam");
        final List<String> rows = lines.subList(1, lines.size());
        assertThat(rows).hasSize(metrics.get("examples").getAsInt()).isNotEmpty();
        int right = 0;
        for (final String row : rows) {
            final String[] f = row.split(",");
            final int label = Integer.parseInt(f[1]);
            final double p = Double.parseDouble(f[2]);
            assertThat(label).isBetween(0, 1);
            assertThat(p).isBetween(0.0, 1.0);
            right += (p >= 0.5 ? 1 : 0) == label ? 1 : 0;
        }
        assertThat(metrics.get("accuracy").getAsDouble()).isCloseTo((double) right / rows.size(), within(1e-9));
        assertThat(rows.stream().map(r -> r.split(",")[0]).distinct()).hasSize(rows.size());
        assertThat(metrics.get("model").getAsString()).as("no --model evaluates the shipped model")
                .isEqualTo(DefaultModel.NAME);
    }

    @Test
    void trainWithAverageLastWritesTheMeanOfTheLastEpochsAndRecordsDropout() throws Exception {
        final Path corpus = tinyCorpus();
        final ModelConfig config = new ModelConfig(ModelConfig.read(DefaultModel.directory()).vocabSize(), 16, 32, 2, 4, 4, 64, 64, 2,
                Activation.GELU_NEW, 1e-12, true, SharingPlan.ALL, List.of("ham", "spam"));
        final Path configFile = dir.resolve("tiny.json");
        Files.writeString(configFile, config.toJson());
        final Path out = dir.resolve("trained");
        final Run train = run("", "model", "train", "--config", configFile.toString(), "--data", corpus.toString(),
                "--epochs", "3", "--average-last", "2", "--dropout", "0.1", "--max-length", "32", "--out",
                out.toString());
        assertThat(train.exitCode()).as(train.err()).isZero();
        assertThat(train.out()).contains("mean of the last 2 epochs validation");
        final Checkpoint mean = Checkpoint.load(out);
        final Checkpoint two = Checkpoint.load(out.resolve("checkpoints/epoch-2"));
        final Checkpoint three = Checkpoint.load(out.resolve("checkpoints/epoch-3"));
        for (final String name : mean.tensors().keySet()) {
            final float[] m = mean.floats(name);
            final float[] x = two.floats(name);
            final float[] y = three.floats(name);
            for (int i = 0; i < m.length; i++) {
                assertThat(m[i]).as(name).isCloseTo((x[i] + y[i]) / 2, within(1e-6f));
            }
        }
        final JsonObject record = JsonParser.parseString(Files.readString(out.resolve("training.json")))
                .getAsJsonObject();
        assertThat(record.get("average_last").getAsInt()).isEqualTo(2);
        assertThat(record.getAsJsonObject("settings").get("dropout").getAsDouble()).isEqualTo(0.1);
        assertThat(record.getAsJsonObject("history").has("average_validation")).isTrue();

        final Run tooMany = run("", "model", "train", "--config", configFile.toString(), "--data", corpus.toString(),
                "--epochs", "2", "--average-last", "3", "--out", dir.resolve("x").toString());
        assertThat(tooMany.exitCode()).isEqualTo(1);
        assertThat(tooMany.err()).contains("--average-last must be 1-2");
        final Run badDropout = run("", "model", "train", "--config", configFile.toString(), "--data",
                corpus.toString(), "--dropout", "1", "--out", dir.resolve("y").toString());
        assertThat(badDropout.exitCode()).isEqualTo(1);
        assertThat(badDropout.err()).contains("dropout must be in [0, 1)");
    }

    @Test
    void trainWithExitsWritesAnExitPolicyThatEvalAndExitsRead() throws Exception {
        final Path corpus = tinyCorpus();
        final ModelConfig config = new ModelConfig(ModelConfig.read(DefaultModel.directory()).vocabSize(), 16, 32, 3, 4, 4,
                64, 64, 2, Activation.GELU_NEW, 1e-12, true, SharingPlan.ALL, List.of("ham", "spam"));
        final Path configFile = dir.resolve("tiny-exits.json");
        Files.writeString(configFile, config.toJson());
        final Path out = dir.resolve("exits");
        final Run train = run("", "model", "train", "--config", configFile.toString(), "--data", corpus.toString(),
                "--epochs", "2", "--exits", "per-layer", "--exit-distill", "0.5", "--max-length", "32", "--out",
                out.toString());
        assertThat(train.exitCode()).as(train.err()).isZero();
        assertThat(train.out()).contains("exit heads per_layer, every depth's loss weighted by its depth")
                .contains("exit policy on the validation part: ");
        final JsonObject written = JsonParser.parseString(Files.readString(out.resolve("config.json"))).getAsJsonObject()
                .getAsJsonObject("streamformer");
        assertThat(written.get("exits").getAsString()).isEqualTo("per_layer");
        final ExitPolicy chosen = ExitPolicy.read(out);
        assertThat(written.get("exit_policy").getAsString()).isEqualTo(chosen.toString());
        assertThat(Checkpoint.load(out).config().exits()).isEqualTo(dev.streamformer.model.ExitHeads.PER_LAYER);

        final Run eval = run("", "model", "eval", "--model", out.toString(), "--data", corpus.toString(), "--exit",
                "confidence:0.5", "--json");
        assertThat(eval.exitCode()).as(eval.err()).isZero();
        final JsonObject scored = JsonParser.parseString(eval.out()).getAsJsonObject();
        assertThat(scored.get("exit_policy").getAsString()).isEqualTo("confidence:0.5");
        assertThat(scored.get("mean_layers").getAsDouble()).as("every e-mail leaves after its first exit: p >= 0.5 always")
                .isEqualTo(1.0);
        assertThat(scored.getAsJsonObject("full_depth").get("examples").getAsInt())
                .isEqualTo(scored.get("examples").getAsInt());

        final Run exits = run("", "model", "exits", "--model", out.toString(), "--data", corpus.toString(),
                "--max-accuracy-loss", "100", "--dry-run");
        assertThat(exits.exitCode()).as(exits.err()).isZero();
        assertThat(exits.out()).as("the safest of the policies within 0.05 layers of the fewest (1)")
                .containsPattern("chosen: confidence:0\\.\\d+ \\(1\\.0[0-5] layers per e-mail of 3\\); not written \\(--dry-run\\)");
        assertThat(ExitPolicy.read(out)).as("a dry run writes nothing").isEqualTo(chosen);
        final Run onTest = run("", "model", "exits", "--model", out.toString(), "--data", corpus.toString(), "--part",
                "test");
        assertThat(onTest.exitCode()).isEqualTo(1);
        assertThat(onTest.err()).contains("choose on the validation part");

        final Run classify = run("", "classify", "--model", out.toString(), "--exit", "confidence:0.5", "--json",
                "Free cruise! Click now to claim your prize");
        assertThat(classify.exitCode()).as(classify.err()).isZero();
        assertThat(JsonParser.parseString(classify.out().strip()).getAsJsonObject().get("layers").getAsInt())
                .as("at least half sure after the first layer").isEqualTo(1);
        final Run predict = run("2,50,70,3\n", "model", "predict", "--model", out.toString(), "--exit", "confidence:0.5");
        assertThat(predict.exitCode()).as(predict.err()).isZero();
        assertThat(JsonParser.parseString(predict.out().strip()).getAsJsonObject().get("layers").getAsInt()).isEqualTo(1);
        final Run fullDepth = run("", "classify", "--model", out.toString(), "--exit", "none",
                "Free cruise! Click now to claim your prize");
        assertThat(fullDepth.out()).doesNotContain("layers");

        final Run stats = run("", "model", "stats", out.toString());
        assertThat(stats.out()).contains("exit[1]").contains("exit heads         per_layer")
                .containsPattern("exit policy        (confidence|patience):");

        final Path noExits = dir.resolve("no-exits");
        dev.streamformer.model.Checkpoint.load(out).withExits(dev.streamformer.model.ExitHeads.NONE).save(noExits);
        for (final String file : List.of("tokenizer.json", "vocab.txt")) {
            Files.copy(out.resolve(file), noExits.resolve(file));
        }
        final Run plain = run("", "model", "eval", "--model", noExits.toString(), "--data", corpus.toString(), "--exit",
                "patience:2");
        assertThat(plain.exitCode()).isEqualTo(1);
        assertThat(plain.err()).contains("has no exit heads").contains("--exits shared or --exits per-layer");
    }

    @Test
    void trainDistilsFromTheClassicFiltersOutOfFoldScoresAndBaselineWritesItsScores() throws Exception {
        final Path corpus = tinyCorpus();
        final ModelConfig config = new ModelConfig(ModelConfig.read(DefaultModel.directory()).vocabSize(), 16, 32, 2, 4, 4, 64, 64, 2,
                Activation.GELU_NEW, 1e-12, true, SharingPlan.ALL, List.of("ham", "spam"));
        final Path configFile = dir.resolve("tiny.json");
        Files.writeString(configFile, config.toJson());
        final Path out = dir.resolve("distilled");
        final Run train = run("", "model", "train", "--config", configFile.toString(), "--data", corpus.toString(),
                "--epochs", "1", "--classic-teacher", "3", "--temperature", "1", "--max-length", "32", "--out",
                out.toString());
        assertThat(train.exitCode()).as(train.err()).isZero();
        assertThat(train.out()).contains("classic filter: fold 3 of 3 scored")
                .contains("distilling from the classic filter's out-of-fold probabilities (3 folds, weight 0.50,"
                        + " temperature 1.0)");
        final JsonObject record = JsonParser.parseString(Files.readString(out.resolve("training.json")))
                .getAsJsonObject();
        assertThat(record.get("teacher").getAsString()).isEqualTo("classic filter, 3 folds out of fold");
        assertThat(record.getAsJsonObject("settings").get("distillWeight").getAsDouble()).isEqualTo(0.5);

        final Run both = run("", "model", "train", "--config", configFile.toString(), "--data", corpus.toString(),
                "--teacher", out.toString(), "--classic-teacher", "3", "--out", dir.resolve("x").toString());
        assertThat(both.exitCode()).isEqualTo(1);
        assertThat(both.err()).contains("not both");
        final Run oneFold = run("", "model", "train", "--config", configFile.toString(), "--data", corpus.toString(),
                "--classic-teacher", "1", "--out", dir.resolve("y").toString());
        assertThat(oneFold.exitCode()).isEqualTo(1);
        assertThat(oneFold.err()).contains("at least 2 folds");

        final Path scores = dir.resolve("classic.csv");
        final Run baseline = run("", "model", "baseline", "--data", corpus.toString(), "--json", "--scores",
                scores.toString());
        assertThat(baseline.exitCode()).as(baseline.err()).isZero();
        final JsonObject metrics = JsonParser.parseString(baseline.out()).getAsJsonObject();
        final List<String> rows = Files.readAllLines(scores);
        assertThat(rows.get(0)).isEqualTo("id,label,p_spam");
        assertThat(rows).hasSize(metrics.get("examples").getAsInt() + 1);
        long right = rows.stream().skip(1).map(r -> r.split(","))
                .filter(f -> (Double.parseDouble(f[2]) >= 0.5 ? 1 : 0) == Integer.parseInt(f[1])).count();
        assertThat(metrics.get("accuracy").getAsDouble()).isCloseTo((double) right / (rows.size() - 1), within(1e-9));
    }

    @Test
    void missingModelGivesAClearMessageAndExitCodeOne() {
        final Run r = run("", "model", "predict", "--model", dir.resolve("nowhere").toString());
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).contains("No model directory at").contains("nowhere").contains("check the path")
                .doesNotContain("model init");
    }

    @Test
    void unknownOptionsExitWithTwo() {
        assertThat(run("", "model", "stats", "--frobnicate").exitCode()).isEqualTo(2);
    }

    @Test
    @Timeout(30)
    void runFindsItsHealthPortTakenBeforeItConnectsOrLoads() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0)) {
            // Nothing listens on port 1: reaching the broker would wait 10 s; the port check comes first.
            final Run r = run("", "run", "-b", "localhost:1", "--health-port", Integer.toString(taken.getLocalPort()));
            assertThat(r.exitCode()).isEqualTo(1);
            assertThat(r.err()).contains("Cannot serve the health endpoint on port " + taken.getLocalPort())
                    .contains("choose a free streamformer.health.port");
        }
    }

    @Test
    void aBadOptionValueIsNamedWithoutTheWholeUsage() {
        final Run r = run("", "classify", "--engine", "tensorflow", "free money");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("error: Invalid value for option '--engine'")
                .contains("Run `streamformer classify --help` for its options.");
        assertThat(r.err().lines().count()).as(r.err()).isLessThanOrEqualTo(4);
    }

    @Test
    void classifyPrintsTheShippedModelsLabelAndProbabilitiesForText() throws Exception {
        final List<DemoSample.Item> sample = DemoSample.bundled().subList(0, 2);
        final Run r = run("", "classify", "--json", sample.get(0).text(), sample.get(1).text());
        assertThat(r.exitCode()).as(r.err()).isZero();
        final String[] lines = r.out().strip().split("\n");
        assertThat(lines).hasSize(2);
        try (InferenceModel model = DefaultModel.load();
                TextTokenizer tokenizer = TextTokenizer.load(DefaultModel.directory(), 128)) {
            for (int i = 0; i < 2; i++) {
                final JsonObject line = JsonParser.parseString(lines[i]).getAsJsonObject();
                assertThat(line.get("label").getAsString()).isEqualTo(sample.get(i).label());
                // classify answers under the model's own exit policy, as the processor does
                final float[] expected = model.predict(List.of(EncoderInput.of(tokenizer.encode(sample.get(i).text()))),
                        model.exitPolicy()).get(0).output().probabilities();
                final JsonObject p = line.getAsJsonObject("probabilities");
                assertThat(p.get("ham").getAsFloat()).isCloseTo(expected[0], within(1e-5f));
                assertThat(p.get("spam").getAsFloat()).isCloseTo(expected[1], within(1e-5f));
            }
        }
        final Run table = run("Free money, click now!!!\n", "classify");
        assertThat(table.exitCode()).as(table.err()).isZero();
        assertThat(table.out()).contains("p(ham)").contains("p(spam)").contains("Free money");
    }

    @Test
    void classifyRefusesEmptyAndBlankTextNamingWhichOne() {
        final Run empty = run("", "classify", "");
        assertThat(empty.exitCode()).isEqualTo(1);
        assertThat(empty.err()).contains("The text (\"\") cannot be classified: the text is empty");
        final Run blank = run("", "classify", "free money", "   ");
        assertThat(blank.exitCode()).isEqualTo(1);
        assertThat(blank.err()).contains("Text 2 of 2").contains("the text is empty");
        assertThat(blank.out()).as("nothing classified").isEmpty();
    }

    @Test
    @Timeout(30)
    void produceChecksTokenIdsAgainstTheModelAndRefusesEmptyTextBeforeItConnects() throws Exception {
        final Run range = run("2,5,3\n2,99999,3\n", "produce", "-b", "localhost:1", "--token-ids");
        assertThat(range.exitCode()).isEqualTo(1);
        assertThat(range.err()).contains("stdin line 2: token id 99999 at position 1 is outside [0, 8000)")
                .contains("nothing was sent");
        final Run special = run("2,3\n", "produce", "-b", "localhost:1", "--token-ids");
        assertThat(special.exitCode()).isEqualTo(1);
        assertThat(special.err()).contains("stdin line 1: the text is empty: it holds only special tokens (2 [CLS], 3 [SEP])");
        final Path empty = Files.writeString(dir.resolve("empty.eml"), " \n ");
        for (final String mode : List.of("--max-length=128", "--as-text")) {
            final Run r = run("", "produce", "-b", "localhost:1", "--file-per-message", mode, empty.toString());
            assertThat(r.exitCode()).as(mode).isEqualTo(1);
            assertThat(r.err()).as(mode).contains(empty + ": the text is empty");
        }
    }

    @Test
    void predictDefaultsToTheShippedModelAndNamesTheLineAndTokenOfABadLine() {
        final Run r = run("2,100,3\n\n2,abc,3\n", "model", "predict");
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).contains("line 3: 'abc' (item 2 of 3) is not a token id");
        final JsonObject first = JsonParser.parseString(r.out().strip()).getAsJsonObject();
        assertThat(first.get("line").getAsInt()).isEqualTo(1);
        assertThat(first.has("label")).isTrue();
    }

    @Test
    @Timeout(30)
    void produceChecksEveryLineBeforeItConnects() {
        // Nothing listens on port 1: reaching the broker would take a minute; the bad line stops it first.
        final Run r = run("2,5,3\n2,x,3\n", "produce", "-b", "localhost:1", "--token-ids");
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).contains("stdin line 2: 'x' (item 2 of 3) is not a token id");
    }
}
