package dev.streamformer.kafka.internals;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Checks that topics exist and creates the missing ones when allowed. */
public final class TopicAdmin {

    private static final Logger LOG = LoggerFactory.getLogger(TopicAdmin.class);

    /**
     * How to create a missing topic.
     *
     * @param partitions partitions
     * @param replicationFactor replication factor, or -1 for the broker default
     * @param retentionMs retention.ms, or -2 for the broker default
     * @param configs more topic configs (cleanup.policy, max.message.bytes)
     */
    public record Spec(int partitions, short replicationFactor, long retentionMs, Map<String, String> configs) {

        /**
         * @param partitions partitions
         * @param replicationFactor replication factor, or -1 for the broker default
         * @param retentionMs retention.ms, or -2 for the broker default
         */
        public Spec(final int partitions, final short replicationFactor, final long retentionMs) {
            this(partitions, replicationFactor, retentionMs, Map.of());
        }
    }

    private TopicAdmin() {
    }

    /**
     * Makes sure every topic exists.
     *
     * @param clientProps admin client properties (bootstrap servers, security)
     * @param topics the topic names
     * @param spec how to create missing ones
     * @param create whether to create missing topics; if false a missing topic is an error
     * @throws IllegalStateException when a topic is missing and may not be created, or the broker does not answer
     */
    public static void ensure(final Properties clientProps, final List<String> topics, final Spec spec,
            final boolean create) {
        try (Admin admin = Admin.create(clientProps)) {
            final Set<String> existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
            final Set<String> missing = new LinkedHashSet<>(topics);
            missing.removeAll(existing);
            if (missing.isEmpty()) {
                return;
            }
            if (!create) {
                throw new IllegalStateException("Topics " + missing + " do not exist: create them, or set"
                        + " streamformer.topics.create=true to let the processor create them");
            }
            final List<NewTopic> newTopics = new ArrayList<>();
            for (final String name : missing) {
                final NewTopic topic = new NewTopic(name, Optional.of(spec.partitions()),
                        spec.replicationFactor() < 0 ? Optional.empty() : Optional.of(spec.replicationFactor()));
                final Map<String, String> configs = new HashMap<>(spec.configs());
                if (spec.retentionMs() != -2) {
                    configs.put(TopicConfig.RETENTION_MS_CONFIG, Long.toString(spec.retentionMs()));
                }
                newTopics.add(topic.configs(configs));
            }
            try {
                admin.createTopics(newTopics).all().get(30, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof TopicExistsException)) {
                    throw e;
                }
            }
            awaitLeaders(admin, missing);
            LOG.info("Created topics {} with {} partitions", missing, spec.partitions());
        } catch (ExecutionException e) {
            throw new IllegalStateException("Cannot check or create topics " + topics + ": "
                    + e.getCause().getMessage() + " (check bootstrap.servers, security settings and ACLs)", e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException("No answer from Kafka at " + clientProps.get("bootstrap.servers")
                    + " within 30 s: check bootstrap.servers and that the brokers are up", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while checking topics", e);
        }
    }

    /**
     * Waits until a topic exists and the leader of every partition serves it, for a producer in another
     * process than the one that creates the topic (see {@link #awaitLeaders}): a {@code produce} started
     * beside a starting processor waits for the processor to create the request topic.
     *
     * @param clientProps admin client properties (bootstrap servers, security)
     * @param topic the topic
     * @param timeout the longest to wait
     * @throws IllegalStateException naming the topic and the fix when it is not served in time
     */
    public static void awaitServed(final Properties clientProps, final String topic, final Duration timeout) {
        final long deadline = System.nanoTime() + timeout.toNanos();
        try (Admin admin = Admin.create(clientProps)) {
            while (!admin.listTopics().names().get(30, TimeUnit.SECONDS).contains(topic)) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("Topic " + topic + " does not exist on "
                            + clientProps.get("bootstrap.servers") + " after " + timeout.toSeconds() + " s: start the"
                            + " processor (streamformer run creates its topics) or create the topic");
                }
                Thread.sleep(200);
            }
            awaitLeaders(admin, Set.of(topic));
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("Topic " + topic + " is not served: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while waiting for topic " + topic, e);
        }
    }

    /**
     * Waits until the leader of every partition of freshly created topics serves it. The controller
     * names a leader before the broker has created the log; a producer whose first batch arrives in
     * between gets NOT_LEADER_OR_FOLLOWER, and an idempotent producer with several requests in flight
     * can then fail its retries with OUT_OF_ORDER_SEQUENCE_NUMBER until the batch expires. Listing the
     * partitions' end offsets only succeeds once every leader serves its partition.
     */
    private static void awaitLeaders(final Admin admin, final Set<String> topics)
            throws InterruptedException, TimeoutException {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try {
                final Map<TopicPartition, OffsetSpec> partitions = new HashMap<>();
                for (final TopicDescription d : admin.describeTopics(topics).allTopicNames().get(30, TimeUnit.SECONDS)
                        .values()) {
                    d.partitions().forEach(p -> partitions.put(new TopicPartition(d.name(), p.partition()),
                            OffsetSpec.latest()));
                }
                admin.listOffsets(partitions).all().get(30, TimeUnit.SECONDS);
                return;
            } catch (ExecutionException e) {
                if (System.nanoTime() > deadline) {
                    throw new TimeoutException("partitions of " + topics + " not served by a leader after 30 s: "
                            + e.getCause().getMessage());
                }
            }
            Thread.sleep(50);
        }
    }
}
