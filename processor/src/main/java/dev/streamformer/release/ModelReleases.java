package dev.streamformer.release;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import dev.streamformer.kafka.internals.TopicAdmin;
import dev.streamformer.model.EngineSettings;
import dev.streamformer.model.InferenceModel;
import dev.streamformer.model.ModelDirectory;
import dev.streamformer.schemas.ModelArtifact;
import dev.streamformer.schemas.ModelRelease;
import dev.streamformer.schemas.ModelStatus;
import dev.streamformer.schemas.serde.SingleObjectSerde;
import dev.streamformer.schemas.serde.StreamformerSerdes;
import dev.streamformer.release.internals.VersionCheck;

/**
 * The models topic: a compacted, single-partition topic keyed by model name whose latest record
 * per name ({@link ModelRelease}) is what every processor serves under that name. Written by
 * {@code streamformer model publish}, {@code promote} and {@code rollback}; read from the start by
 * every processor.
 */
public final class ModelReleases {

    /** Room in a record for everything but the files. */
    private static final int RECORD_OVERHEAD = 64 << 10;

    private static final SingleObjectSerde<ModelRelease> SERDE = StreamformerSerdes.modelRelease();
    private static final SingleObjectSerde<ModelStatus> STATUS_SERDE = StreamformerSerdes.modelStatus();

    /** How a published version is rolled out. */
    public enum Rollout {
        /** The new version replaces the stable one for every request. */
        REPLACE,
        /** The new version serves a share of the requests beside the stable one. */
        CANARY,
        /** The new version runs beside the stable one on every request, to the shadow topic. */
        SHADOW
    }

    private ModelReleases() {
    }

    /**
     * Creates the models topic if missing: compacted, one partition (releases of every name in one
     * order), large records allowed.
     *
     * @param kafka client properties
     * @param topic the topic
     * @param maxMessageBytes its max.message.bytes
     * @param replication replication factor, -1 for the broker default
     * @param create whether to create it when missing (else a missing topic is an error)
     */
    public static void ensureTopic(final Properties kafka, final String topic, final int maxMessageBytes,
            final short replication, final boolean create) {
        TopicAdmin.ensure(kafka, List.of(topic), new TopicAdmin.Spec(1, replication, -2, Map.of(
                TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT,
                TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(maxMessageBytes))), create);
    }

    /**
     * Creates the model status topic if missing: compacted, one partition, one record per instance.
     *
     * @param kafka client properties
     * @param topic the topic
     * @param replication replication factor, -1 for the broker default
     * @param create whether to create it when missing (else a missing topic is an error)
     */
    public static void ensureStatusTopic(final Properties kafka, final String topic, final short replication,
            final boolean create) {
        TopicAdmin.ensure(kafka, List.of(topic), new TopicAdmin.Spec(1, replication, -2, Map.of(
                TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT)), create);
    }

    /**
     * Reads the model status topic to its end: the latest status of every instance that has not
     * stopped cleanly, live or silent (see {@link ModelStatus#getUpdatedAt()}).
     *
     * @param kafka client properties
     * @param topic the model status topic
     * @param timeout the longest to read
     * @return the statuses by instance id; empty when the topic does not exist
     */
    public static Map<String, ModelStatus> readStatuses(final Properties kafka, final String topic,
            final Duration timeout) {
        final Map<String, ModelStatus> statuses = new java.util.TreeMap<>();
        try (KafkaConsumer<byte[], byte[]> consumer = consumer(kafka)) {
            if (!consumer.listTopics(timeout).containsKey(topic)) {
                return statuses;
            }
            readPartitionToEnd(consumer, topic, timeout, r -> {
                final String instance = new String(r.key(), StandardCharsets.UTF_8);
                if (r.value() == null) {
                    statuses.remove(instance);
                } else {
                    statuses.put(instance, STATUS_SERDE.deserialize(topic, r.value()));
                }
            });
        }
        return statuses;
    }

    /**
     * Reads the topic to its end.
     *
     * @param kafka client properties
     * @param topic the models topic
     * @param timeout the longest to read
     * @return the latest release of every name, with its offset
     */
    public static Map<String, Offset> readAll(final Properties kafka, final String topic, final Duration timeout) {
        try (KafkaConsumer<byte[], byte[]> consumer = consumer(kafka)) {
            return readToEnd(consumer, topic, timeout);
        }
    }

    /**
     * Assigns the topic's partition to a consumer and reads it from the start to its end.
     *
     * @param consumer a consumer of {@link #consumer}
     * @param topic the models topic
     * @param timeout the longest to read
     * @return the latest release of every name, with its offset; the consumer is left at the end
     */
    public static Map<String, Offset> readToEnd(final KafkaConsumer<byte[], byte[]> consumer, final String topic,
            final Duration timeout) {
        final Map<String, Offset> latest = new LinkedHashMap<>();
        historyToEnd(consumer, topic, timeout).forEach((name, releases) -> latest.put(name,
                releases.get(releases.size() - 1)));
        return latest;
    }

    /**
     * Assigns the topic's partition to a consumer and reads it from the start to its end, keeping
     * every release of each name that compaction has not removed yet.
     *
     * @param consumer a consumer of {@link #consumer}
     * @param topic the models topic
     * @param timeout the longest to read
     * @return every release of every name, oldest first (a tombstone forgets the name's earlier ones)
     */
    public static Map<String, List<Offset>> historyToEnd(final KafkaConsumer<byte[], byte[]> consumer,
            final String topic, final Duration timeout) {
        final Map<String, List<Offset>> history = new LinkedHashMap<>();
        readPartitionToEnd(consumer, topic, timeout, r -> {
            final Map<String, Offset> one = new HashMap<>();
            accept(one, r);
            final String name = new String(r.key(), StandardCharsets.UTF_8);
            if (one.containsKey(name)) {
                history.computeIfAbsent(name, k -> new java.util.ArrayList<>()).add(one.get(name));
            } else {
                history.remove(name);
            }
        });
        return history;
    }

    /** Reads the one partition of a topic from its start to the end it has now, each record to {@code each}. */
    private static void readPartitionToEnd(final KafkaConsumer<byte[], byte[]> consumer, final String topic,
            final Duration timeout, final java.util.function.Consumer<ConsumerRecord<byte[], byte[]>> each) {
        final TopicPartition tp = new TopicPartition(topic, 0);
        consumer.assign(List.of(tp));
        consumer.seekToBeginning(List.of(tp));
        final long end = consumer.endOffsets(List.of(tp), timeout).get(tp);
        final long deadline = System.nanoTime() + timeout.toNanos();
        while (consumer.position(tp, timeout) < end) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("Could not read " + topic + " to its end (offset " + end + ") within "
                        + timeout.toSeconds() + " s");
            }
            consumer.poll(Duration.ofMillis(200)).forEach(each);
        }
    }

    /**
     * Keeps the latest release of the record's name (a tombstone removes the name).
     *
     * @param latest the latest release of every name so far
     * @param r a record of the models topic
     */
    public static void accept(final Map<String, Offset> latest, final ConsumerRecord<byte[], byte[]> r) {
        final String name = new String(r.key(), StandardCharsets.UTF_8);
        if (r.value() == null) {
            latest.remove(name);
        } else {
            latest.put(name, new Offset(SERDE.deserialize(r.topic(), r.value()), r.offset()));
        }
    }

    /**
     * A release and where it is in the topic.
     *
     * @param release the release
     * @param offset its offset: the order of releases
     */
    public record Offset(ModelRelease release, long offset) {
    }

    /**
     * Publishes a model directory under a name, after the checks every processor runs before it
     * serves a version ({@link VersionCheck}): it loads (config and tensors), its tokenizer loads, a
     * forward pass gives finite logits, and its labels and vocabulary are those of the stable version
     * on the topic. The stable version is the latest on the topic that passes those checks itself, as
     * processors choose it: a stable release they refused never becomes the stable side of a trial.
     *
     * @param kafka client properties
     * @param topic the models topic (created if missing)
     * @param dir the model directory
     * @param name the model name
     * @param rollout how the version serves
     * @param canaryPercent the candidate's share for {@link Rollout#CANARY}
     * @param location a path or file: URI every processor can read the directory at, or null to send the files inline
     * @param maxMessageBytes max.message.bytes of the topic if it is created here
     * @return the release written, with the stable versions on the topic that were passed over
     * @throws IllegalArgumentException when the version fails a check (nothing is written), naming the fault
     * @throws java.io.IOException when the directory cannot be read
     */
    public static Publication publish(final Properties kafka, final String topic, final Path dir, final String name,
            final Rollout rollout, final int canaryPercent, final String location, final int maxMessageBytes)
            throws java.io.IOException {
        if (rollout == Rollout.CANARY && (canaryPercent < 0 || canaryPercent > 100)) {
            throw new IllegalArgumentException("--canary is a percentage, 0-100; got " + canaryPercent);
        }
        ensureTopic(kafka, topic, maxMessageBytes, (short) -1, true);
        final Map<String, byte[]> files = ModelPackage.read(dir);
        final ModelArtifact artifact = artifact(dir, location);
        final List<Offset> history;
        try (KafkaConsumer<byte[], byte[]> consumer = consumer(kafka)) {
            history = historyToEnd(consumer, topic, Duration.ofSeconds(60)).getOrDefault(name, List.of());
        }
        final Path scratch = Files.createTempDirectory("streamformer-publish-");
        final ModelRelease.Builder next = ModelRelease.newBuilder().setName(name).setPublishedAt(Instant.now());
        final List<String> passedOver;
        try (InferenceModel model = checked(dir, name);
                StableOnTopic stable = StableOnTopic.find(history, name, scratch)) {
            passedOver = stable.refused();
            if (stable.model() != null) {
                try {
                    VersionCheck.replaces(model, dir, stable.model(), stable.dir());
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(dir + " cannot be published as " + name + ": " + e.getMessage()
                            + " (compared with stable version " + stable.artifact().getVersion() + " on " + topic
                            + "). Nothing was written", e);
                }
            }
            if (rollout == Rollout.REPLACE) {
                next.setStable(artifact);
            } else {
                if (stable.artifact() == null) {
                    throw new IllegalArgumentException("There is no stable version of '" + name + "' on " + topic
                            + " to try a candidate beside" + stable.refusals() + ": publish the version the processors"
                            + " should serve first (without --canary or --shadow)");
                }
                next.setStable(stable.artifact()).setCandidate(artifact)
                        .setCanaryPercent(rollout == Rollout.CANARY ? canaryPercent : 0)
                        .setShadow(rollout == Rollout.SHADOW);
            }
        } finally {
            ModelPackage.deleteTree(scratch);
        }
        final ModelRelease release = next.build();
        final long size = ModelPackage.size(files) * (release.getCandidate() != null && location == null
                && release.getStable().getFiles() != null ? 2 : 1);
        final int limit = maxMessageBytes(kafka, topic);
        if (location == null && size + RECORD_OVERHEAD > limit) {
            throw new IllegalArgumentException(String.format(java.util.Locale.ROOT, "The release would be %.1f MB, over the"
                    + " %.1f MB max.message.bytes of %s: put the model directory where every processor can read it and"
                    + " publish with --location <path>, or raise the topic's max.message.bytes", size / 1e6, limit / 1e6,
                    topic));
        }
        write(kafka, topic, release, limit);
        return new Publication(release, passedOver);
    }

    /**
     * A release written by {@link #publish}.
     *
     * @param release the release
     * @param passedOver stable versions of later releases on the topic that do not load (so processors
     *     refused them), newest first, each with why; the release's stable side is an earlier one
     */
    public record Publication(ModelRelease release, List<String> passedOver) {
    }

    /** Loads a directory and runs {@link VersionCheck#servable} on it, or says why it cannot be published. */
    private static InferenceModel checked(final Path dir, final String name) throws java.io.IOException {
        InferenceModel model = null;
        try {
            model = InferenceModel.load(dir, name, EngineSettings.DEFAULT);
            VersionCheck.servable(model, dir);
            return model;
        } catch (java.io.IOException | RuntimeException e) {
            if (model != null) {
                model.close();
            }
            throw new IllegalArgumentException(dir + " cannot be published: " + e.getMessage() + ". Every processor"
                    + " would refuse it, so nothing was written", e);
        }
    }

    /**
     * Ends a trial: the candidate becomes the stable version ({@code promote}) or is dropped
     * ({@code rollback}).
     *
     * @param kafka client properties
     * @param topic the models topic
     * @param name the model name
     * @param promote true to promote, false to roll back
     * @return the release written
     */
    public static ModelRelease finish(final Properties kafka, final String topic, final String name,
            final boolean promote) {
        final Offset current = readAll(kafka, topic, Duration.ofSeconds(60)).get(name);
        if (current == null || current.release().getCandidate() == null) {
            throw new IllegalArgumentException("Model '" + name + "' has no candidate on " + topic + " to "
                    + (promote ? "promote" : "roll back") + (current == null ? " (nothing is published under that name)"
                    : " (it serves " + current.release().getStable().getVersion() + " alone)"));
        }
        final ModelRelease was = current.release();
        final ModelRelease release = ModelRelease.newBuilder().setName(name)
                .setStable(promote ? was.getCandidate() : was.getStable()).setCandidate(null).setCanaryPercent(0)
                .setShadow(false).setPublishedAt(Instant.now()).build();
        write(kafka, topic, release, maxMessageBytes(kafka, topic));
        return release;
    }

    /**
     * @param dir a model directory
     * @param location where every processor reads it, or null to carry its files inline
     * @return the artifact of its version
     * @throws java.io.IOException when the directory cannot be read
     */
    public static ModelArtifact artifact(final Path dir, final String location) throws java.io.IOException {
        final Map<String, byte[]> files = ModelPackage.read(dir);
        return ModelArtifact.newBuilder()
                .setVersion(ModelDirectory.version(dir))
                .setSha256(ModelPackage.sha256(files))
                .setFiles(location == null ? inline(files) : null)
                .setLocation(location)
                .build();
    }

    private static Map<String, ByteBuffer> inline(final Map<String, byte[]> files) {
        final Map<String, ByteBuffer> out = new HashMap<>();
        files.forEach((k, v) -> out.put(k, ByteBuffer.wrap(v)));
        return out;
    }

    /**
     * Writes a release as it is, without the checks of {@link #publish}: for tools that build releases
     * themselves. Every processor still checks each version before it serves it and refuses a bad one.
     *
     * @param kafka client properties
     * @param topic the models topic (it exists)
     * @param release the release
     */
    public static void announce(final Properties kafka, final String topic, final ModelRelease release) {
        write(kafka, topic, release, maxMessageBytes(kafka, topic));
    }

    /**
     * @param kafka client properties
     * @return those a producer knows (bootstrap, security)
     */
    public static Properties producerProperties(final Properties kafka) {
        return clientOnly(kafka, ProducerConfig.configNames());
    }

    private static void write(final Properties kafka, final String topic, final ModelRelease release, final int limit) {
        final Properties p = producerProperties(kafka);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Integer.toString(limit));
        p.put(ProducerConfig.BUFFER_MEMORY_CONFIG, Long.toString(Math.max(32L << 20, 2L * limit)));
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(),
                new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>(topic, release.getName().toString().getBytes(StandardCharsets.UTF_8),
                    SERDE.serialize(topic, release))).get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new IllegalStateException("Cannot write the release to " + topic + ": " + e.getCause().getMessage(),
                    e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException("No acknowledgement from " + topic + " within 60 s", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted", e);
        }
    }

    private static int maxMessageBytes(final Properties kafka, final String topic) {
        try (Admin admin = Admin.create(adminProperties(kafka))) {
            final ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
            final Config config = admin.describeConfigs(List.of(resource)).all().get(30, TimeUnit.SECONDS).get(resource);
            return Integer.parseInt(config.get(TopicConfig.MAX_MESSAGE_BYTES_CONFIG).value());
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("Cannot read the configuration of " + topic + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted", e);
        }
    }

    /**
     * A consumer of the models topic: no group, read_committed, records up to the topic's size.
     *
     * @param kafka client properties
     * @return the consumer
     */
    public static KafkaConsumer<byte[], byte[]> consumer(final Properties kafka) {
        final Properties p = clientOnly(kafka, ConsumerConfig.configNames());
        // It reads assigned partitions, in no group: the group settings of the stream threads are not its own.
        p.remove(ConsumerConfig.GROUP_ID_CONFIG);
        p.remove(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG);
        p.remove(ConsumerConfig.GROUP_PROTOCOL_CONFIG);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, Integer.toString(256 << 20));
        p.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, Integer.toString(256 << 20));
        return new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    /**
     * @param kafka client properties
     * @return those an admin client knows
     */
    public static Properties adminProperties(final Properties kafka) {
        return clientOnly(kafka, AdminClientConfig.configNames());
    }

    /** The properties a client of this kind knows (bootstrap, security), without the rest. */
    static Properties clientOnly(final Properties kafka, final Set<String> names) {
        final Properties p = new Properties();
        for (final String key : kafka.stringPropertyNames()) {
            if (names.contains(key)) {
                p.put(key, kafka.getProperty(key));
            }
        }
        return p;
    }
}
