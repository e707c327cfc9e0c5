package dev.streamformer.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

import dev.streamformer.model.DefaultModel;
import dev.streamformer.model.ModelDirectory;
import dev.streamformer.release.ModelReleases;
import dev.streamformer.schemas.DeadLetter;
import dev.streamformer.schemas.ErrorKind;
import dev.streamformer.schemas.TokenizedInput;
import dev.streamformer.schemas.serde.StreamformerSerdes;
import dev.streamformer.stream.KafkaDefaults;
import dev.streamformer.stream.LiveModels;
import dev.streamformer.stream.ModelRegistry;
import dev.streamformer.stream.ServingMetrics;
import dev.streamformer.stream.StreamformerConfig;
import dev.streamformer.testkit.EmbeddedKafka;

/**
 * The example application on a real broker, as its main method runs it: exactly-once, the batch
 * buffer's changelog, the join through a repartition topic, and a model release published while it
 * runs, which its {@link LiveModels} applies.
 */
@Tag("integration")
class ScreenedMailAppIT {

    private static final String SPAM = "URGENT!!! You have WON $1,000,000 cash. Click here now to claim your prize,"
            + " limited time offer, no purchase necessary. Unsubscribe: reply REMOVE";
    private static final String HAM = "Hi Tom, the kernel build failed again on the test box last night; I attached"
            + " the log. Can we look at it after the meeting tomorrow? Thanks, Anna";
    private static final String MODELS = "screened-models";

    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    Path tmp;

    @Test
    @Timeout(240)
    void screensMailOnABrokerAndFollowsAReleasePublishedWhileItRuns() throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.start(tmp.resolve("kafka"), 0, Map.of())) {
            final Properties client = new Properties();
            client.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
            try (Admin admin = Admin.create(client)) {
                admin.createTopics(List.of(new NewTopic(ScreenedMailApp.REQUESTS, 1, (short) 1),
                        new NewTopic(ScreenedMailApp.SENDERS, 1, (short) 1),
                        new NewTopic(ScreenedMailApp.VERDICTS, 1, (short) 1),
                        new NewTopic(ScreenedMailApp.DEAD_LETTERS, 1, (short) 1))).all().get();
            }
            final Properties props = KafkaDefaults.under(client);
            props.put(StreamsConfig.APPLICATION_ID_CONFIG, "screened-mail-it");
            props.put(StreamsConfig.STATE_DIR_CONFIG, tmp.resolve("state").toString());
            props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, "1");
            props.put(StreamformerConfig.BATCH_SIZE_CONFIG, "2");
            props.put(StreamformerConfig.BATCH_MAX_WAIT_MS_CONFIG, "50");
            props.put(StreamformerConfig.TOPIC_MODELS_CONFIG, MODELS);
            props.put(StreamformerConfig.MODELS_CACHE_DIR_CONFIG, tmp.resolve("releases").toString());

            try (KafkaProducer<String, String> senders = new KafkaProducer<>(client, new StringSerializer(),
                    new StringSerializer())) {
                senders.send(new ProducerRecord<>(ScreenedMailApp.SENDERS, "m-1", "promo@win.example")).get();
                senders.send(new ProducerRecord<>(ScreenedMailApp.SENDERS, "m-2", "anna@example.org")).get();
                senders.send(new ProducerRecord<>(ScreenedMailApp.SENDERS, "m-4", "prize@win.example")).get();
            }
            try (LiveModels models = LiveModels.start(props, new ModelRegistry(), ServingMetrics.disabled());
                    KafkaStreams streams = new KafkaStreams(ScreenedMailApp.topology(new StreamformerConfig(props),
                            models.catalog()), StreamformerConfig.kafkaOnly(props));
                    KafkaProducer<String, TokenizedInput> mail = new KafkaProducer<>(client, new StringSerializer(),
                            StreamformerSerdes.tokenizedInput().serializer())) {
                streams.start();
                final String first = models.catalog().route(null).stable().model().version();
                mail.send(new ProducerRecord<>(ScreenedMailApp.REQUESTS, "m-1", text("m-1", SPAM))).get();
                mail.send(new ProducerRecord<>(ScreenedMailApp.REQUESTS, "internal-3", text("internal-3", HAM))).get();
                mail.send(new ProducerRecord<>(ScreenedMailApp.REQUESTS, "bad", TokenizedInput.newBuilder()
                        .setRequestId("bad").setTokenIds(List.of(2, 99_999, 3)).setCreatedAt(Instant.now()).build())).get();
                mail.send(new ProducerRecord<>(ScreenedMailApp.REQUESTS, "m-2", text("m-2", HAM))).get();

                final List<ConsumerRecord<String, String>> verdicts = read(kafka, ScreenedMailApp.VERDICTS,
                        new StringDeserializer(), 2);
                assertThat(verdicts).extracting(ConsumerRecord::key)
                        .containsExactlyInAnyOrder("promo@win.example", "anna@example.org");
                assertThat(verdicts).extracting(ConsumerRecord::value)
                        .anySatisfy(v -> assertThat(v).startsWith("spam ").endsWith(" m-1"))
                        .anySatisfy(v -> assertThat(v).startsWith("ham ").endsWith(" m-2"));
                final List<ConsumerRecord<String, DeadLetter>> letters = read(kafka, ScreenedMailApp.DEAD_LETTERS,
                        StreamformerSerdes.deadLetter(), 1);
                assertThat(letters).hasSize(1);
                assertThat(letters.get(0).key()).as("keyed by the request's own key").isEqualTo("bad");
                assertThat(letters.get(0).value().getErrorKind()).isEqualTo(ErrorKind.VALIDATION);

                // A new version of the default model (the same weights under a changed config.json), published
                // as `streamformer model publish` does: the application switches to it while it runs.
                final Path v2 = tmp.resolve("v2");
                Files.createDirectories(v2);
                for (final String f : List.of(ModelDirectory.CONFIG, ModelDirectory.WEIGHTS, ModelDirectory.TOKENIZER,
                        ModelDirectory.VOCAB)) {
                    Files.copy(DefaultModel.directory().resolve(f), v2.resolve(f));
                }
                Files.writeString(v2.resolve(ModelDirectory.CONFIG), "\n", StandardOpenOption.APPEND);
                final String second = ModelDirectory.version(v2);
                assertThat(second).isNotEqualTo(first);
                ModelReleases.publish(client, MODELS, v2, DefaultModel.NAME, ModelReleases.Rollout.REPLACE, 0, null,
                        64 << 20);
                final long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
                while (!second.equals(models.catalog().route(null).stable().model().version())
                        && System.nanoTime() < deadline) {
                    Thread.sleep(100);
                }
                assertThat(models.catalog().route(null).stable().model().version()).as("the version served after the"
                        + " release").isEqualTo(second);
                mail.send(new ProducerRecord<>(ScreenedMailApp.REQUESTS, "m-4", text("m-4", SPAM))).get();
                assertThat(read(kafka, ScreenedMailApp.VERDICTS, new StringDeserializer(), 3))
                        .extracting(ConsumerRecord::value).anySatisfy(v -> assertThat(v).startsWith("spam ").endsWith(" m-4"));
            }
        }
    }

    private static TokenizedInput text(final String id, final String text) {
        return TokenizedInput.newBuilder().setRequestId(id).setText(text).setCreatedAt(Instant.now()).build();
    }

    /** Reads committed records of a topic from its start until {@code expected} arrived (or 120 s passed). */
    private static <V> List<ConsumerRecord<String, V>> read(final EmbeddedKafka kafka, final String topic,
            final Deserializer<V> values, final int expected) {
        final Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        p.put(ConsumerConfig.GROUP_ID_CONFIG, "reader-" + UUID.randomUUID());
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        final List<ConsumerRecord<String, V>> out = new ArrayList<>();
        try (KafkaConsumer<String, V> consumer = new KafkaConsumer<>(p, new StringDeserializer(), values)) {
            consumer.subscribe(List.of(topic));
            final long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
            while (out.size() < expected && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(200)).forEach(out::add);
            }
        }
        return out;
    }
}
