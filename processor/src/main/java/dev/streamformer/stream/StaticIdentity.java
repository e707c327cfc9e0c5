package dev.streamformer.stream;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.streams.KafkaClientSupplier;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.processor.internals.DefaultKafkaClientSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One stable name per processor instance, so that an instance that restarts is known again at once.
 *
 * <p>The name becomes the group's {@code group.instance.id} (static membership: Kafka Streams gives
 * each stream thread's consumer the name plus {@code -<thread>}), so a restarted instance takes its
 * partitions back without waiting for the group to time the dead one out; and it replaces the random
 * process id in the stream threads' transactional ids, so the restarted instance's producers fence
 * the dead one's and abort its open transactions at once instead of after {@code
 * transaction.timeout.ms}.
 *
 * <p>The name is the user's {@code group.instance.id} (in Kubernetes, the pod name); by default the
 * host name and a hash of the state directory, which is stable across restarts and distinct for two
 * processors on one machine with their own state directories. Two processors that share a state
 * directory are told apart by a lock file: the second takes the next free number. A blank {@code
 * group.instance.id} turns static membership off.
 */
final class StaticIdentity implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(StaticIdentity.class);

    /** How many processors may share one state directory before the lock search gives up. */
    private static final int MAX_SHARERS = 64;

    private static final List<String> KEYS = List.of(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG,
            StreamsConfig.consumerPrefix(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG),
            StreamsConfig.mainConsumerPrefix(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG));

    private final String name;
    private final String applicationId;
    private final FileChannel lockFile;

    private StaticIdentity(final String name, final String applicationId, final FileChannel lockFile) {
        this.name = name;
        this.applicationId = applicationId;
        this.lockFile = lockFile;
    }

    /**
     * Decides the instance's name and sets {@code group.instance.id} in the properties (or removes it
     * when the user set it blank).
     *
     * @param kafka the Kafka Streams properties, with the defaults applied; changed in place
     * @return the identity, to close when the processor stops
     */
    static StaticIdentity apply(final Properties kafka) {
        final String applicationId = kafka.getProperty(StreamsConfig.APPLICATION_ID_CONFIG);
        final String own = KEYS.stream().filter(kafka::containsKey).map(kafka::getProperty).reduce((a, b) -> b)
                .orElse(null);
        if (own != null && own.isBlank()) {
            KEYS.forEach(kafka::remove);
            LOG.info("Dynamic group membership (group.instance.id is blank): after a crash the group waits out"
                    + " session.timeout.ms before it hands the dead instance's partitions to anyone");
            return new StaticIdentity(null, applicationId, null);
        }
        if (own != null) {
            KEYS.forEach(kafka::remove);
            kafka.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, own.strip());
            LOG.info("Static group membership as instance {} (group.instance.id)", own.strip());
            return new StaticIdentity(own.strip(), applicationId, null);
        }
        final Path stateDir = Path.of(kafka.getProperty(StreamsConfig.STATE_DIR_CONFIG)).toAbsolutePath().normalize();
        final String base = host() + "-" + hash(stateDir + "/" + applicationId);
        for (int n = 0; n < MAX_SHARERS; n++) {
            final FileChannel lock = tryLock(stateDir.resolve(applicationId + ".instance-" + n + ".lock"));
            if (lock != null) {
                final String name = n == 0 ? base : base + "-" + n;
                kafka.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, name);
                LOG.info("Static group membership as instance {} (from the host name and the state directory {}; set"
                        + " group.instance.id to name it yourself, or blank to turn static membership off)", name,
                        stateDir);
                return new StaticIdentity(name, applicationId, lock);
            }
        }
        throw new IllegalStateException(MAX_SHARERS + " processors already share the state directory " + stateDir
                + ": give each instance its own state.dir");
    }

    /**
     * Sets the name as {@code group.instance.id} in another copy of the properties.
     *
     * @param kafka the properties Kafka Streams gets; changed in place
     */
    void configure(final Properties kafka) {
        KEYS.forEach(kafka::remove);
        if (name != null) {
            kafka.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, name);
        }
    }

    /** @return the instance's name, or null under dynamic membership */
    String name() {
        return name;
    }

    /**
     * @return clients as Kafka Streams makes them, except that a stream thread's transactional id
     *     names this instance instead of a process id drawn at random on every start
     */
    KafkaClientSupplier clientSupplier() {
        // Kafka Streams' own supplier (internal, so tied to the pinned Kafka version): it also makes the
        // consumers of the streams rebalance protocol, which a hand-written supplier would have to copy.
        return new DefaultKafkaClientSupplier() {
            @Override
            public Producer<byte[], byte[]> getProducer(final Map<String, Object> config) {
                return super.getProducer(withStableTransactionalId(config));
            }
        };
    }

    /**
     * @param config a stream thread's producer configuration
     * @return it with the transactional id {@code <application id>-<instance name>-<thread>}
     *     instead of {@code <application id>-<process id>-<thread>}; unchanged under dynamic membership
     *     or without transactions
     */
    Map<String, Object> withStableTransactionalId(final Map<String, Object> config) {
        final Object id = config.get(ProducerConfig.TRANSACTIONAL_ID_CONFIG);
        if (name == null || id == null) {
            return config;
        }
        final String transactional = id.toString();
        final String thread = transactional.substring(transactional.lastIndexOf('-') + 1);
        final Map<String, Object> copy = new HashMap<>(config);
        copy.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, applicationId + "-" + name + "-" + thread);
        return copy;
    }

    private static String host() {
        String host = System.getenv("HOSTNAME");
        if (host == null || host.isBlank()) {
            try {
                host = InetAddress.getLocalHost().getHostName();
            } catch (IOException e) {
                host = "localhost";
            }
        }
        return host.replaceAll("[^A-Za-z0-9._-]", "_");
    }

    private static String hash(final String text) {
        try {
            final byte[] digest = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 4);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    /** @return the open channel holding the lock, or null when another process holds it */
    private static FileChannel tryLock(final Path file) {
        try {
            Files.createDirectories(file.getParent());
            final FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            try {
                final FileLock lock = channel.tryLock();
                if (lock != null) {
                    return channel;
                }
            } catch (OverlappingFileLockException e) {
                // held by this JVM (a second processor in one process): the next number
            }
            channel.close();
            return null;
        } catch (IOException e) {
            throw new IllegalStateException("Cannot write the state directory " + file.getParent() + ": " + e.getMessage()
                    + ". Set state.dir to a directory this user may write", e);
        }
    }

    @Override
    public void close() {
        if (lockFile != null) {
            try {
                lockFile.close();
            } catch (IOException e) {
                LOG.debug("closing the instance lock: {}", e.toString());
            }
        }
    }
}
