package dev.streamformer.cli;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import dev.streamformer.model.DefaultModel;
import dev.streamformer.model.ModelDirectory;
import dev.streamformer.release.ModelReleases;
import dev.streamformer.schemas.ModelRelease;
import dev.streamformer.schemas.ModelStatus;
import dev.streamformer.stream.StreamformerApp;
import dev.streamformer.stream.StreamformerConfig;

/** {@code streamformer model publish | promote | rollback | releases}: model versions through the models topic. */
final class ModelReleaseCommands {

    private ModelReleaseCommands() {
    }

    /** The models topic of the merged properties. */
    private static String topic(final Properties all) {
        return all.getProperty(StreamformerConfig.TOPIC_MODELS_CONFIG, "streamformer-models");
    }

    private static void print(final String verb, final ModelRelease r, final String topic) {
        System.out.printf("%s %s on %s: stable %s%s%n", verb, r.getName(), topic, r.getStable().getVersion(),
                r.getCandidate() == null ? "" : ", candidate " + r.getCandidate().getVersion()
                        + (r.getShadow() ? " as shadow" : " on " + r.getCanaryPercent() + " % of requests"));
    }

    /** {@code model publish}. */
    @Command(name = "publish",
            mixinStandardHelpOptions = true,
            sortOptions = false,
            description = {"Publish a model directory to the models topic; every running processor loads it in the"
                    + " background, checks it (config and tensors load, its tokenizer loads, labels and vocabulary as"
                    + " served, a forward pass), and switches between batches without a restart.",
                "The same checks run here first, against the stable version on the topic: a version that fails one"
                    + " is not written, and the command exits 1 naming the fault. A processor that still refuses a"
                    + " version (it serves another directory under that name) keeps the current one"
                    + " (streamformer_model_refusals_total; `model releases` shows the refusal).",
                "Without --canary or --shadow the version replaces the stable one; with either it is a candidate"
                    + " until `model promote` or `model rollback`."})
    static final class Publish implements Callable<Integer> {

        @Mixin
        private KafkaOptions kafka;

        @Option(names = "--model", required = true, paramLabel = "<dir>", description = "The model directory to publish.")
        private Path model;

        @Option(names = "--name", paramLabel = "<name>",
                description = "The model name requests ask for (default: streamformer-default, the name of the model"
                        + " the processor serves when --model is not given).")
        private String name;

        @Option(names = "--canary", paramLabel = "<percent>",
                description = "Serve this percent of requests (0-100, by a hash of the request id, so a request id"
                        + " always meets the same version) from the new version, the rest from the stable one.")
        private Integer canary;

        @Option(names = "--shadow",
                description = "Run the new version beside the stable one on every request; its predictions go to the"
                        + " shadow topic (streamformer.topic.shadow) only.")
        private boolean shadow;

        @Option(names = "--location", paramLabel = "<path|file:URI>",
                description = "Where every processor can read the directory (a shared volume), instead of sending its"
                        + " files in the record; needed when they exceed the topic's max.message.bytes.")
        private String location;

        @Override
        public Integer call() throws Exception {
            if (canary != null && shadow) {
                throw new IllegalArgumentException("--canary and --shadow exclude each other: a candidate either"
                        + " serves a share of the requests or runs beside all of them");
            }
            if (!ModelDirectory.isModel(model)) {
                throw new IllegalArgumentException(model + " is not a model directory (config.json with"
                        + " model.safetensors or model.onnx)");
            }
            final Properties all = kafka.connect();
            final String topic = topic(all);
            final String n = name != null ? name : DefaultModel.NAME;
            final ModelReleases.Rollout rollout = canary != null ? ModelReleases.Rollout.CANARY
                    : shadow ? ModelReleases.Rollout.SHADOW : ModelReleases.Rollout.REPLACE;
            final ModelReleases.Publication p = ModelReleases.publish(StreamformerConfig.kafkaOnly(all), topic, model, n,
                    rollout, canary == null ? 0 : canary, location, Integer.parseInt(all.getProperty(
                            StreamformerConfig.MODELS_MAX_MESSAGE_BYTES_CONFIG, Integer.toString(64 << 20))));
            if (!p.passedOver().isEmpty()) {
                System.err.printf("note: the latest stable version of %s on %s does not load, so processors refuse it and"
                        + " serve %s, which is the stable side of this release; passed over: %s%n", n, topic,
                        p.release().getStable().getVersion(), String.join("; ", p.passedOver()));
            }
            print("published", p.release(), topic);
            return 0;
        }
    }

    /** {@code model promote} and {@code model rollback}. */
    abstract static class Finish implements Callable<Integer> {

        @Mixin
        private KafkaOptions kafka;

        @Option(names = "--name", paramLabel = "<name>", description = "The model name (default: streamformer-default).")
        private String name;

        abstract boolean promote();

        @Override
        public Integer call() throws Exception {
            final Properties all = kafka.connect();
            final ModelRelease r = ModelReleases.finish(StreamformerConfig.kafkaOnly(all), topic(all),
                    name == null ? DefaultModel.NAME : name, promote());
            print(promote() ? "promoted" : "rolled back", r, topic(all));
            return 0;
        }
    }

    /** {@code model promote}. */
    @Command(name = "promote", mixinStandardHelpOptions = true,
            description = "End a canary or shadow trial: the candidate becomes the stable version of every request.")
    static final class Promote extends Finish {
        @Override
        boolean promote() {
            return true;
        }
    }

    /** {@code model rollback}. */
    @Command(name = "rollback", mixinStandardHelpOptions = true,
            description = "End a canary or shadow trial: drop the candidate; the stable version serves every request.")
    static final class Rollback extends Finish {
        @Override
        boolean promote() {
            return false;
        }
    }

    /** {@code model releases}. */
    @Command(name = "releases", mixinStandardHelpOptions = true,
            description = {"List what the models topic tells processors to serve (per name: the stable version, any"
                    + " candidate, inline or at a location) and, below each name, what every live processor instance"
                    + " serves and the releases it refused, from the model status topic"
                    + " (streamformer.topic.model.status) that each instance writes every "
                    + StatusView.LIVE_SECONDS / 3 + " s.",
                "An instance not heard from for " + StatusView.LIVE_SECONDS + " s is silent (stopped by SIGKILL, or"
                    + " cut off): counted, and listed with --all."})
    static final class Releases implements Callable<Integer> {

        @Mixin
        private KafkaOptions kafka;

        @Option(names = "--all", description = "Also list silent instances.")
        private boolean all;

        @Override
        public Integer call() throws Exception {
            final Properties props = kafka.connect();
            final Properties client = StreamformerConfig.kafkaOnly(props);
            final Map<String, ModelReleases.Offset> releases = ModelReleases.readAll(client, topic(props),
                    Duration.ofSeconds(60));
            final String statusTopic = props.getProperty(StreamformerConfig.TOPIC_MODEL_STATUS_CONFIG,
                    "streamformer-model-status");
            final Map<String, ModelStatus> statuses = statusTopic.isBlank() ? Map.of()
                    : ModelReleases.readStatuses(client, statusTopic, Duration.ofSeconds(60));
            if (releases.isEmpty()) {
                System.out.println("nothing published on " + topic(props) + " (processors serve their configured models)");
            }
            System.out.print(StatusView.render(releases, statuses, Instant.now(), all));
            return 0;
        }
    }
}
