package dev.streamformer.client;

import java.util.Properties;

import org.apache.kafka.clients.consumer.ConsumerConfig;

/**
 * Consumer properties for reading what the processor committed: read_committed, so aborted
 * transactions (a processor killed mid-batch) are never seen, and no offset commits, so reading
 * leaves no trace in the cluster beyond an empty group.
 */
public final class CommittedReads {

    private CommittedReads() {
    }

    /**
     * @param client the client properties (bootstrap servers, security); copied, not changed
     * @param groupId the consumer group, normally a fresh one per reader
     * @param fromBeginning start at the earliest offset instead of the latest
     * @return the consumer properties
     */
    public static Properties properties(final Properties client, final String groupId, final boolean fromBeginning) {
        final Properties p = new Properties();
        p.putAll(client);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, fromBeginning ? "earliest" : "latest");
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        return p;
    }

    /**
     * @param bootstrap the broker
     * @param groupId the consumer group
     * @return properties that read from the earliest offset
     */
    public static Properties fromBeginning(final String bootstrap, final String groupId) {
        final Properties client = new Properties();
        client.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        return properties(client, groupId, true);
    }
}
