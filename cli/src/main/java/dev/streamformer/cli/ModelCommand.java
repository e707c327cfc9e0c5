package dev.streamformer.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code streamformer model}: create, inspect and run model directories. */
@Command(name = "model",
        mixinStandardHelpOptions = true,
        description = "Create, inspect and run model directories (config.json + model.safetensors, or config.json +"
                + " model.onnx).",
        subcommands = {
            ModelStatsCommand.class,
            ModelInitCommand.class,
            ModelImportCommand.class,
            ModelVocabCommand.class,
            ModelTrainCommand.class,
            ModelPretrainCommand.class,
            ModelFinetuneCommand.class,
            ModelEvalCommand.class,
            ModelExitsCommand.class,
            ModelShareCommand.class,
            ModelPruneCommand.class,
            ModelQuantizeCommand.class,
            ModelPriorCommand.class,
            ModelAverageCommand.class,
            ModelTradeoffCommand.class,
            ModelBaselineCommand.class,
            ModelPlanCommand.class,
            ModelPredictCommand.class,
            ModelExportCommand.class,
            ModelReleaseCommands.Publish.class,
            ModelReleaseCommands.Promote.class,
            ModelReleaseCommands.Rollback.class,
            ModelReleaseCommands.Releases.class
        })
final class ModelCommand implements Runnable {

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
