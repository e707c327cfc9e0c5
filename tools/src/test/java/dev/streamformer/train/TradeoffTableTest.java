package dev.streamformer.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TradeoffTableTest {

    @TempDir
    Path dir;

    private static final TradeoffTable.Setup SETUP = new TradeoffTable.Setup(16, 32, 2, 2, 64, 1000, 32,
            new ModelTrainer.Settings(1, 16, 3e-4, 0.1, 0.01, 42, 2, 0, 1), 1);

    @Test
    void regeneratingReplacesTheTableAndKeepsEverySectionWrittenByHand() throws Exception {
        Files.writeString(dir.resolve("TRADEOFF.md"), """
                # Sharing and compression trade-offs

                Every row: the previous run's setup.

                | model | unique params |
                |---|---:|
                | not shared | 1 |

                ![accuracy against size](tradeoff.png)

                ## Early exit on the shipped model (written by hand)

                A table of the shipped model.

                ## Reading this run (written by hand)

                What the rows say.
                """);
        TradeoffTable.write(List.of(row("not shared", 0.9785), row("all shared (scratch)", 0.9719)), SETUP, 120,
                "model tradeoff", dir, null);
        final String md = Files.readString(dir.resolve("TRADEOFF.md"));
        assertThat(md).doesNotContain("the previous run's setup").contains("in 2 minutes")
                .contains("| all shared (scratch) | 743 | 0.00 | 0.9719 |")
                .contains("\n![accuracy against size](tradeoff.png)\n\n## Early exit on the shipped model (written by"
                        + " hand)\n\nA table of the shipped model.\n\n## Reading this run (written by hand)\n\nWhat the"
                        + " rows say.\n");
        assertThat(md.indexOf("| not shared |")).as("the table once").isEqualTo(md.lastIndexOf("| not shared |"));
        assertThat(dir.resolve("tradeoff.json")).isRegularFile();
        assertThat(dir.resolve("tradeoff.png")).isRegularFile();
    }

    @Test
    void aFirstRunWritesTheGeneratedPartAlone() throws Exception {
        TradeoffTable.write(List.of(row("not shared", 0.9785)), SETUP, 60, "model tradeoff", dir, null);
        final String md = Files.readString(dir.resolve("TRADEOFF.md"));
        assertThat(md).startsWith("# Sharing and compression trade-offs\n").doesNotContain("\n## ")
                .endsWith("![accuracy against size](tradeoff.png)\n");
    }

    @Test
    void rowsWithExitsGetTheirTableAndChartAndARedrawKeepsTheNoteAndTheSectionsByHand() throws Exception {
        final Evaluation e = evaluation(0.9768);
        final TradeoffTable.SplitExits exits = new TradeoffTable.SplitExits("confidence:0.99", e, e, 1.09);
        final TradeoffTable.Row withExits = new TradeoffTable.Row("all shared (scratch)", 743, 2_980,
                Map.of("random", e, "later", e), 400.0, 390L << 20, new TradeoffTable.Exits("SHARED",
                        Map.of("random", exits, "later", exits), 420.0, 2_100.0));
        TradeoffTable.write(List.of(row("not shared", 0.9785), withExits), SETUP, 60, "model tradeoff", dir,
                "12 of the models were taken from data/tradeoff.");
        Files.writeString(dir.resolve("TRADEOFF.md"), Files.readString(dir.resolve("TRADEOFF.md"))
                + "\n## Reading this run (written by hand)\n\nWhat the rows say.\n");
        final String written = Files.readString(dir.resolve("TRADEOFF.md"));
        assertThat(written).contains("| all shared (scratch) | SHARED | confidence:0.99 | 0.9768 / 0.9768 | 1.09 |")
                .contains("| 420.0 | 2100.0 (5.00x) |").contains("| not shared |").contains(" - | - |")
                .contains("![early exit: accuracy against records/s](tradeoff-exits.png)");
        assertThat(dir.resolve("tradeoff-exits.png")).isRegularFile();

        Files.delete(dir.resolve("tradeoff-exits.png"));
        TradeoffTable.redraw(dir);
        assertThat(Files.readString(dir.resolve("TRADEOFF.md"))).as("the same page from tradeoff.json")
                .isEqualTo(written).contains("12 of the models were taken from data/tradeoff.");
        assertThat(dir.resolve("tradeoff-exits.png")).isRegularFile();
    }

    private static Evaluation evaluation(final double accuracy) {
        return new Evaluation(604, accuracy, 0.97, 0.96, 0.965, 0.99, new long[][] {{1, 0}, {0, 1}});
    }

    private static TradeoffTable.Row row(final String name, final double accuracy) {
        final Evaluation e = evaluation(accuracy);
        return new TradeoffTable.Row(name, 743, 2_980, Map.of("random", e, "later", e), 400.0, 390L << 20);
    }
}
