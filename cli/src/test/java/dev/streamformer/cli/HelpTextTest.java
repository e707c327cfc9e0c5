package dev.streamformer.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/** Every command's {@code --help} renders cleanly: no picocli format warnings, every option described. */
class HelpTextTest {

    private static void collect(final CommandLine command, final List<CommandLine> into) {
        into.add(command);
        command.getSubcommands().values().forEach(sub -> collect(sub, into));
    }

    @Test
    void everyCommandsHelpRendersWithoutWarningsAndDescribesEveryOption() {
        final List<CommandLine> commands = new ArrayList<>();
        collect(new CommandLine(new StreamformerCli()), commands);
        assertThat(commands).hasSizeGreaterThan(20);

        final PrintStream err = System.err;
        final ByteArrayOutputStream captured = new ByteArrayOutputStream();
        try {
            // picocli reports a description it cannot format (an unescaped '%') on System.err.
            System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
            for (final CommandLine command : commands) {
                final String usage = command.getUsageMessage(CommandLine.Help.Ansi.OFF);
                assertThat(usage).as(command.getCommandSpec().qualifiedName()).contains("Usage: ");
                for (final OptionSpec option : command.getCommandSpec().options()) {
                    assertThat(String.join(" ", option.description()))
                            .as(command.getCommandSpec().qualifiedName() + " " + option.longestName())
                            .isNotBlank();
                }
            }
        } finally {
            System.setErr(err);
        }
        assertThat(captured.toString(StandardCharsets.UTF_8)).as("picocli warnings").isEmpty();
    }
}
