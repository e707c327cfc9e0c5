package dev.streamformer.examples;

import java.util.Properties;
import java.util.concurrent.CountDownLatch;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Joined;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;

import dev.streamformer.schemas.Prediction;
import dev.streamformer.schemas.serde.StreamformerSerdes;
import dev.streamformer.stream.InferenceOutputs;
import dev.streamformer.stream.InferenceResult;
import dev.streamformer.stream.InferenceSupplier;
import dev.streamformer.stream.KafkaDefaults;
import dev.streamformer.stream.LiveModels;
import dev.streamformer.stream.ModelCatalog;
import dev.streamformer.stream.ModelRegistry;
import dev.streamformer.stream.ServingMetrics;
import dev.streamformer.stream.StreamformerConfig;

/**
 * A mail service's own Kafka Streams application with Streamformer's inference step inside it.
 * <pre>
 *   mail-requests --filter: skip mail from inside the company--> inference --> predictions
 *                                                                         \--> dead letters --> mail-dead-letters
 *   predictions JOIN mail-senders (table, by request id) --> mail-verdicts   (key: sender, value: "spam 0.97 id")
 * </pre>
 * Requests are keyed by request id and {@code mail-senders} maps each request id to its sender.
 * Kafka Streams routes the predictions through a repartition topic before the join, as after any
 * {@code process()} step (it cannot know that the key is unchanged), so the join names its serdes.
 */
public final class ScreenedMailApp {

    /** Requests, keyed by request id. */
    public static final String REQUESTS = "mail-requests";
    /** The sender of each request, keyed by request id. */
    public static final String SENDERS = "mail-senders";
    /** One verdict per screened mail, keyed by sender. */
    public static final String VERDICTS = "mail-verdicts";
    /** Requests the model could not serve. */
    public static final String DEAD_LETTERS = "mail-dead-letters";
    /** Request ids of mail from inside the company start with this; it is not screened. */
    public static final String INTERNAL_PREFIX = "internal-";

    private ScreenedMailApp() {
    }

    /**
     * @param config the inference settings (batch size, validation)
     * @param models the models to serve: {@link LiveModels#catalog()}, or a catalog of fixed models
     * @return the application's topology
     */
    public static Topology topology(final StreamformerConfig config, final ModelCatalog models) {
        final StreamsBuilder builder = new StreamsBuilder();
        final KTable<String, String> senders = builder.table(SENDERS, Consumed.with(Serdes.String(), Serdes.String()));
        final KStream<String, InferenceResult> results = builder
                .stream(REQUESTS, Consumed.with(Serdes.String(), StreamformerSerdes.tokenizedInput()))
                .filter((id, request) -> !id.startsWith(INTERNAL_PREFIX)) // a step of the application's own
                .process(InferenceSupplier.of(config, Serdes.String(), models), Named.as("inference"));
        final InferenceOutputs<String> out = InferenceOutputs.of(results, "inference");

        // After it: predictions joined with the application's own table.
        out.predictions()
                .join(senders, ScreenedMailApp::verdict,
                        Joined.with(Serdes.String(), StreamformerSerdes.prediction(), Serdes.String()))
                .selectKey((id, verdict) -> verdict.substring(0, verdict.indexOf(' ')))
                .mapValues(verdict -> verdict.substring(verdict.indexOf(' ') + 1))
                .to(VERDICTS, Produced.with(Serdes.String(), Serdes.String()));
        out.deadLetters().to(DEAD_LETTERS, Produced.with(Serdes.String(), StreamformerSerdes.deadLetter()));
        return builder.build();
    }

    private static String verdict(final Prediction p, final String sender) {
        return String.format(java.util.Locale.ROOT, "%s %s %.3f %s", sender, p.getLabel(),
                p.getProbabilities().get(p.getLabel()), p.getRequestId());
    }

    /**
     * Runs the application against a cluster.
     *
     * @param args the bootstrap servers, and optionally a model directory (default: the shipped model)
     * @throws InterruptedException when interrupted while running
     */
    public static void main(final String[] args) throws InterruptedException {
        if (args.length < 1) {
            System.err.println("usage: ScreenedMailApp <bootstrap-servers> [<model-dir>]");
            System.exit(2);
        }
        final Properties props = KafkaDefaults.properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "screened-mail");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        if (args.length > 1) {
            props.put(StreamformerConfig.MODEL_DIR_CONFIG, args[1]);
        }
        final CountDownLatch stopped = new CountDownLatch(1);
        // Follows the models topic, so `streamformer model publish` reaches this application too.
        try (LiveModels models = LiveModels.start(props, ModelRegistry.shared(), ServingMetrics.disabled());
                KafkaStreams streams = new KafkaStreams(topology(new StreamformerConfig(props), models.catalog()),
                        StreamformerConfig.kafkaOnly(props))) {
            Runtime.getRuntime().addShutdownHook(new Thread(stopped::countDown));
            streams.start();
            stopped.await();
        }
    }
}
