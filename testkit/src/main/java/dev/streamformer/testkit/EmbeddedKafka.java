package dev.streamformer.testkit;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;

/**
 * A single-node Kafka broker in KRaft mode (broker and controller in one), running in this JVM.
 * Settings suit one node: replication factor 1 for the internal topics, few partitions for them,
 * no initial rebalance delay. Data live in the given directory and survive a restart on it.
 *
 * <p>This uses Kafka's internal server classes, so the Kafka version is pinned in the build.
 */
public final class EmbeddedKafka implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafka.class);

    private final Path dataDir;
    private final int port;
    private final int controllerPort;
    private final int securedPort;
    private final KafkaRaftServer server;

    private EmbeddedKafka(final Path dataDir, final int port, final int controllerPort, final int securedPort,
            final KafkaRaftServer server) {
        this.dataDir = dataDir;
        this.port = port;
        this.controllerPort = controllerPort;
        this.securedPort = securedPort;
        this.server = server;
    }

    /**
     * Formats the directory if needed, starts the broker and waits until it answers.
     *
     * @param dataDir the log directory
     * @param port the client port; 0 picks a free one
     * @param overrides broker properties that replace the defaults (listeners, security, ...)
     * @return the running broker
     * @throws IOException when the directory cannot be prepared or the broker does not start
     */
    public static EmbeddedKafka start(final Path dataDir, final int port, final Map<String, String> overrides)
            throws IOException {
        final int clientPort = port == 0 ? freePort() : port;
        final int controllerPort = freePort();
        final Properties props = defaults(dataDir, clientPort, controllerPort);
        props.putAll(overrides);
        return start(dataDir, clientPort, controllerPort, -1, props);
    }

    /**
     * One node of a cluster whose controllers are a fixed set ({@code controller.quorum.voters}), each
     * node broker and controller in one: start every node of {@code voters} (separate processes) and
     * the cluster forms once a majority runs. Internal topics and new topics get replication
     * {@code min(3, nodes)} and {@code min.insync.replicas} {@code min(2, nodes)}; nodes format their
     * directories with one cluster id derived from {@code voters}, so they agree without being told.
     *
     * @param dataDir this node's log directory
     * @param nodeId this node's id, one of the ids in {@code voters}
     * @param port this node's client port
     * @param voters every node as {@code id@host:controllerPort}, comma-separated
     * @return the running node, once the cluster answers
     * @throws IOException when the directory cannot be prepared or the cluster does not form
     */
    public static EmbeddedKafka startNode(final Path dataDir, final int nodeId, final int port, final String voters)
            throws IOException {
        final String[] nodes = voters.split(",");
        int controllerPort = -1;
        for (final String node : nodes) {
            final String[] idAndAddress = node.strip().split("@", 2);
            if (idAndAddress.length == 2 && idAndAddress[0].equals(Integer.toString(nodeId))) {
                controllerPort = Integer.parseInt(idAndAddress[1].substring(idAndAddress[1].lastIndexOf(':') + 1));
            }
        }
        if (controllerPort < 0) {
            throw new IllegalArgumentException("Node " + nodeId + " is not among the voters " + voters
                    + ": list it as " + nodeId + "@localhost:<controller port>");
        }
        final String replication = Integer.toString(Math.min(3, nodes.length));
        final String minInSync = Integer.toString(Math.min(2, nodes.length));
        final Properties props = defaults(dataDir, port, controllerPort);
        props.remove("controller.quorum.bootstrap.servers");
        props.put("controller.quorum.voters", voters);
        props.put("node.id", Integer.toString(nodeId));
        props.put("default.replication.factor", replication);
        props.put("min.insync.replicas", minInSync);
        props.put("offsets.topic.replication.factor", replication);
        props.put("transaction.state.log.replication.factor", replication);
        props.put("transaction.state.log.min.isr", minInSync);
        props.put("share.coordinator.state.topic.replication.factor", replication);
        props.put("share.coordinator.state.topic.min.isr", minInSync);
        return start(dataDir, port, controllerPort, -1, props, clusterId(voters));
    }

    /** @return a cluster id every node derives alike from the voters */
    static String clusterId(final String voters) {
        final java.util.UUID uuid = java.util.UUID.nameUUIDFromBytes(voters.getBytes(StandardCharsets.UTF_8));
        return new Uuid(uuid.getMostSignificantBits(), uuid.getLeastSignificantBits()).toString();
    }

    /**
     * A broker with a second, secured client listener: SASL_PLAINTEXT with the PLAIN mechanism for
     * the given users, and ACLs enforced by the KRaft authorizer (no ACL means no access). The
     * PLAINTEXT listener stays for administration: its anonymous principal is the super user.
     *
     * @param dataDir the log directory
     * @param users user name to password of every SASL user
     * @return the running broker; {@link #securedBootstrapServers()} is the secured listener
     * @throws IOException when the directory cannot be prepared or the broker does not start
     */
    public static EmbeddedKafka startWithSasl(final Path dataDir, final Map<String, String> users) throws IOException {
        final int clientPort = freePort();
        final int controllerPort = freePort();
        final int securedPort = freePort();
        final Properties props = defaults(dataDir, clientPort, controllerPort);
        props.put("listeners", "PLAINTEXT://localhost:" + clientPort + ",SASL_PLAINTEXT://localhost:" + securedPort
                + ",CONTROLLER://localhost:" + controllerPort);
        props.put("advertised.listeners", "PLAINTEXT://localhost:" + clientPort + ",SASL_PLAINTEXT://localhost:"
                + securedPort);
        props.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,"
                + "CONTROLLER:PLAINTEXT");
        props.put("sasl.enabled.mechanisms", "PLAIN");
        final StringBuilder jaas = new StringBuilder("org.apache.kafka.common.security.plain.PlainLoginModule required");
        users.forEach((user, password) -> jaas.append(" user_").append(user).append("=\"").append(password).append('"'));
        props.put("listener.name.sasl_plaintext.plain.sasl.jaas.config", jaas.append(';').toString());
        props.put("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer");
        props.put("super.users", "User:ANONYMOUS");
        return start(dataDir, clientPort, controllerPort, securedPort, props);
    }

    /**
     * A broker with a second client listener on TLS with client authentication required: the
     * broker presents the key in {@code keyStore}, and accepts clients whose certificate
     * {@code trustStore} trusts. The PLAINTEXT listener stays for administration.
     *
     * @param dataDir the log directory
     * @param keyStore the broker's PKCS12 key store
     * @param trustStore a PKCS12 store of the client certificates (or their CA) the broker trusts
     * @param password the password of both stores and of the key
     * @return the running broker; {@link #securedBootstrapServers()} is the TLS listener
     * @throws IOException when the directory cannot be prepared or the broker does not start
     */
    public static EmbeddedKafka startWithTls(final Path dataDir, final Path keyStore, final Path trustStore,
            final String password) throws IOException {
        final int clientPort = freePort();
        final int controllerPort = freePort();
        final int tlsPort = freePort();
        final Properties props = defaults(dataDir, clientPort, controllerPort);
        props.put("listeners", "PLAINTEXT://localhost:" + clientPort + ",SSL://localhost:" + tlsPort
                + ",CONTROLLER://localhost:" + controllerPort);
        props.put("advertised.listeners", "PLAINTEXT://localhost:" + clientPort + ",SSL://localhost:" + tlsPort);
        props.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,SSL:SSL,CONTROLLER:PLAINTEXT");
        props.put("listener.name.ssl.ssl.keystore.location", keyStore.toAbsolutePath().toString());
        props.put("listener.name.ssl.ssl.keystore.type", "PKCS12");
        props.put("listener.name.ssl.ssl.keystore.password", password);
        props.put("listener.name.ssl.ssl.key.password", password);
        props.put("listener.name.ssl.ssl.truststore.location", trustStore.toAbsolutePath().toString());
        props.put("listener.name.ssl.ssl.truststore.type", "PKCS12");
        props.put("listener.name.ssl.ssl.truststore.password", password);
        props.put("listener.name.ssl.ssl.client.auth", "required");
        return start(dataDir, clientPort, controllerPort, tlsPort, props);
    }

    private static EmbeddedKafka start(final Path dataDir, final int clientPort, final int controllerPort,
            final int securedPort, final Properties props) throws IOException {
        return start(dataDir, clientPort, controllerPort, securedPort, props, null);
    }

    /** @param clusterId the id of the cluster a node joins, or null for a single node of its own */
    private static EmbeddedKafka start(final Path dataDir, final int clientPort, final int controllerPort,
            final int securedPort, final Properties props, final String clusterId) throws IOException {
        Files.createDirectories(dataDir);
        if (!Files.exists(dataDir.resolve("meta.properties"))) {
            format(dataDir, props, clusterId);
        }
        final KafkaRaftServer server = new KafkaRaftServer(KafkaConfig.fromProps(props, false), Time.SYSTEM);
        server.startup();
        final EmbeddedKafka kafka = new EmbeddedKafka(dataDir, clientPort, controllerPort, securedPort, server);
        try {
            kafka.awaitReady(Duration.ofSeconds(clusterId == null ? 60 : 180));
        } catch (IOException | RuntimeException e) {
            kafka.close();
            throw e;
        }
        LOG.info("Kafka broker ready on localhost:{}{} (data in {})", clientPort,
                securedPort > 0 ? " and secured localhost:" + securedPort : "", dataDir);
        return kafka;
    }

    /**
     * The default single-node properties.
     *
     * @param dataDir the log directory
     * @param port the client port
     * @param controllerPort the controller port
     * @return the properties
     */
    static Properties defaults(final Path dataDir, final int port, final int controllerPort) {
        final Properties p = new Properties();
        p.put("process.roles", "broker,controller");
        p.put("node.id", "1");
        p.put("controller.quorum.bootstrap.servers", "localhost:" + controllerPort);
        p.put("listeners", "PLAINTEXT://localhost:" + port + ",CONTROLLER://localhost:" + controllerPort);
        p.put("advertised.listeners", "PLAINTEXT://localhost:" + port);
        p.put("controller.listener.names", "CONTROLLER");
        p.put("inter.broker.listener.name", "PLAINTEXT");
        p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        p.put("log.dirs", dataDir.toAbsolutePath().toString());
        p.put("num.partitions", "1");
        p.put("auto.create.topics.enable", "false");
        p.put("offsets.topic.replication.factor", "1");
        p.put("offsets.topic.num.partitions", "4");
        p.put("transaction.state.log.replication.factor", "1");
        p.put("transaction.state.log.min.isr", "1");
        p.put("transaction.state.log.num.partitions", "4");
        p.put("share.coordinator.state.topic.replication.factor", "1");
        p.put("share.coordinator.state.topic.min.isr", "1");
        p.put("group.initial.rebalance.delay.ms", "0");
        p.put("broker.session.timeout.ms", "2000");
        p.put("broker.heartbeat.interval.ms", "500");
        p.put("log.flush.interval.messages", Long.toString(Long.MAX_VALUE));
        return p;
    }

    private static void format(final Path dataDir, final Properties props, final String clusterId) throws IOException {
        final Path file = dataDir.resolve("server.properties");
        try (OutputStream out = Files.newOutputStream(file)) {
            props.store(out, "Streamformer embedded KRaft broker");
        }
        final ByteArrayOutputStream log = new ByteArrayOutputStream();
        final int code;
        try (PrintStream print = new PrintStream(log, true, StandardCharsets.UTF_8)) {
            code = StorageTool.execute(clusterId == null
                    ? new String[] {"format", "--standalone", "-t", Uuid.randomUuid().toString(), "-c", file.toString()}
                    : new String[] {"format", "--no-initial-controllers", "-t", clusterId, "-c", file.toString()},
                    print);
        } catch (Exception e) {
            throw new IOException("Cannot format the Kafka log directory " + dataDir + ": " + e.getMessage(), e);
        }
        if (code != 0) {
            throw new IOException("Cannot format the Kafka log directory " + dataDir + ": "
                    + log.toString(StandardCharsets.UTF_8).strip());
        }
    }

    private void awaitReady(final Duration timeout) throws IOException {
        final Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        final long deadline = System.nanoTime() + timeout.toNanos();
        try (Admin admin = Admin.create(p)) {
            while (true) {
                try {
                    admin.describeCluster().nodes().get(5, TimeUnit.SECONDS);
                    return;
                } catch (Exception e) {
                    if (System.nanoTime() > deadline) {
                        throw new IOException("Kafka broker on port " + port + " did not answer within " + timeout, e);
                    }
                }
            }
        }
    }

    /**
     * A port that was free a moment ago.
     *
     * @return the port
     * @throws IOException when no socket can be opened
     */
    public static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            socket.setReuseAddress(true);
            return socket.getLocalPort();
        }
    }

    /** @return host:port for clients */
    public String bootstrapServers() {
        return "localhost:" + port;
    }

    /** @return host:port of the secured listener of {@link #startWithSasl} or {@link #startWithTls} */
    public String securedBootstrapServers() {
        if (securedPort < 0) {
            throw new IllegalStateException("this broker has no secured listener: start it with startWithSasl or"
                    + " startWithTls");
        }
        return "localhost:" + securedPort;
    }

    /** @return the client port */
    public int port() {
        return port;
    }

    /** @return the log directory */
    public Path dataDir() {
        return dataDir;
    }

    /** Blocks until the broker has shut down (after {@link #close()} from another thread). */
    public void awaitShutdown() {
        server.awaitShutdown();
    }

    @Override
    public void close() {
        server.shutdown();
        server.awaitShutdown();
        LOG.info("Kafka broker on localhost:{} stopped (controller port {})", port, controllerPort);
    }
}
