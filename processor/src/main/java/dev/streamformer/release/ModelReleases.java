package dev.streamformer.release;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
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

import dev.streamformer.kafka.TopicAdmin;
import dev.streamformer.model.ModelDirectory;
import dev.streamformer.schemas.ModelArtifact;
import dev.streamformer.schemas.ModelRelease;
import dev.streamformer.schemas.serde.SingleObjectSerde;
import dev.streamformer.schemas.serde.StreamformerSerdes;

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
        final TopicPartition tp = new TopicPartition(topic, 0);
        consumer.assign(List.of(tp));
        consumer.seekToBeginning(List.of(tp));
        final long end = consumer.endOffsets(List.of(tp), timeout).get(tp);
        final Map<String, List<Offset>> history = new LinkedHashMap<>();
        final long deadline = System.nanoTime() + timeout.toNanos();
        while (consumer.position(tp, timeout) < end) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("Could not read " + topic + " to its end (offset " + end + ") within "
                        + timeout.toSeconds() + " s");
            }
            for (final ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                final Map<String, Offset> one = new HashMap<>();
                accept(one, r);
                final String name = new String(r.key(), StandardCharsets.UTF_8);
                if (one.containsKey(name)) {
                    history.computeIfAbsent(name, k -> new java.util.ArrayList<>()).add(one.get(name));
                } else {
                    history.remove(name);
                }
            }
        }
        return history;
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
     * Publishes a model directory under a name.
     *
     * @param kafka client properties
     * @param topic the models topic (created if missing)
     * @param dir the model directory
     * @param name the model name
     * @param rollout how the version serves
     * @param canaryPercent the candidate's share for {@link Rollout#CANARY}
     * @param location a path or file: URI every processor can read the directory at, or null to send the files inline
     * @param maxMessageBytes max.message.bytes of the topic if it is created here
     * @return the release written
     * @throws java.io.IOException when the directory cannot be read
     */
    public static ModelRelease publish(final Properties kafka, final String topic, final Path dir, final String name,
            final Rollout rollout, final int canaryPercent, final String location, final int maxMessageBytes)
            throws java.io.IOException {
        ensureTopic(kafka, topic, maxMessageBytes, (short) -1, true);
        final Map<String, byte[]> files = ModelPackage.read(dir);
        final ModelArtifact artifact = artifact(dir, location);
        final Offset current = readAll(kafka, topic, Duration.ofSeconds(60)).get(name);
        final ModelRelease.Builder next = ModelRelease.newBuilder().setName(name).setPublishedAt(Instant.now());
        if (rollout == Rollout.REPLACE) {
            next.setStable(artifact);
        } else {
            if (current == null) {
                throw new IllegalArgumentException("There is no stable version of '" + name + "' on " + topic
                        + " to try a candidate beside: publish the version the processors serve first (without --canary"
                        + " or --shadow)");
            }
            if (canaryPercent < 0 || canaryPercent > 100) {
                throw new IllegalArgumentException("--canary is a percentage, 0-100; got " + canaryPercent);
            }
            next.setStable(current.release().getStable()).setCandidate(artifact)
                    .setCanaryPercent(rollout == Rollout.CANARY ? canaryPercent : 0)
                    .setShadow(rollout == Rollout.SHADOW);
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
        return release;
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

    private static void write(final Properties kafka, final String topic, final ModelRelease release, final int limit) {
        final Properties p = clientOnly(kafka, ProducerConfig.configNames());
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
        p.remove(ConsumerConfig.GROUP_ID_CONFIG);
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
