package dev.streamformer.cli;

import java.util.concurrent.Callable;

import picocli.CommandLine.Command;

import dev.streamformer.stream.StreamformerAppConfig;

/** Prints the configuration reference, the source of the README's tables. */
@Command(name = "config", mixinStandardHelpOptions = true,
        description = {"Prints every streamformer.* key of `run` (default and meaning) and every Kafka key the processor"
                + " sets by default (value and reason), as the Markdown tables of the README's configuration reference.",
                "They are generated from the code's config definition; a test fails when the README differs."})
final class ConfigCommand implements Callable<Integer> {

    @Override
    public Integer call() {
        System.out.print(StreamformerAppConfig.markdown());
        return 0;
    }
}
