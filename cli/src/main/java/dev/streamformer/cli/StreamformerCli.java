package dev.streamformer.cli;

import java.io.PrintWriter;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code streamformer} command: parses, calls and prints; the work lives in the other packages. */
@Command(name = "streamformer",
        mixinStandardHelpOptions = true,
        versionProvider = StreamformerCli.Version.class,
        description = "Kafka Streams inference with compact shared-parameter Transformers.",
        subcommands = {
            DemoCommand.class,
            RunCommand.class,
            ProduceCommand.class,
            ClassifyCommand.class,
            ModelCommand.class,
            BenchCommand.class,
            ConsumeCommand.class,
            MonitorCommand.class,
            BrokerCommand.class,
            DataCommand.class,
            SoakCommand.class,
            ConfigCommand.class,
            SchemasCommand.class,
            StatsCommand.class,
            DashboardCommand.class,
            CommandLine.HelpCommand.class
        },
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            "0:success",
            "1:the command failed (the message says why and how to fix it)",
            "2:invalid command line"
        })
public final class StreamformerCli implements Runnable {

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    /**
     * Entry point.
     *
     * @param args the command line
     */
    public static void main(final String[] args) {
        System.exit(execute(args));
    }

    /**
     * Runs a command line and returns its exit code, without exiting the JVM.
     *
     * @param args the command line
     * @return the exit code
     */
    public static int execute(final String... args) {
        // DJL must never try to download natives or probe the network: everything is on the class path.
        System.setProperty("ai.djl.offline", System.getProperty("ai.djl.offline", "true"));
        final CommandLine cli = new CommandLine(new StreamformerCli());
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            final PrintWriter err = commandLine.getErr();
            err.println("error: " + (e.getMessage() == null ? e.toString() : e.getMessage()));
            if (Boolean.getBoolean("streamformer.debug")) {
                e.printStackTrace(err);
            }
            err.flush();
            return 1;
        });
        // A bad option: the error and where the options are listed, not the whole usage that buries it.
        cli.setParameterExceptionHandler((e, arguments) -> {
            final CommandLine commandLine = e.getCommandLine();
            final PrintWriter err = commandLine.getErr();
            err.println("error: " + e.getMessage());
            CommandLine.UnmatchedArgumentException.printSuggestions(e, err);
            err.println("Run `" + commandLine.getCommandSpec().qualifiedName(" ") + " --help` for its options.");
            err.flush();
            return commandLine.getCommandSpec().exitCodeOnInvalidInput();
        });
        return cli.execute(args);
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Reports the version from the jar manifest. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            final String v = StreamformerCli.class.getPackage().getImplementationVersion();
            return new String[] {"streamformer " + (v == null ? "development build" : v)};
        }
    }
}
