package dev.streamformer.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

import dev.streamformer.TinyModel;
import dev.streamformer.schemas.Prediction;
import dev.streamformer.schemas.TokenizedInput;
import dev.streamformer.schemas.serde.StreamformerSerdes;
import dev.streamformer.testkit.ChildProcess;
import dev.streamformer.testkit.EmbeddedKafka;

/**
 * The processor against a broker with a secured listener, SASL_PLAINTEXT (PLAIN) with ACLs or TLS
 * with client authentication, run as a separate
 * process from a properties file exactly as a user would: with its credentials it serves requests;
 * with a wrong password it exits non-zero with a message that says so; and no password appears in
 * anything either process printed, with Kafka's own logging at INFO (which prints every client
 * configuration).
 */
@Tag("integration")
class SecuredClusterIT {

    private static final String PASSWORD = "pw-Processor-7f3a91";
    private static final String WRONG = "pw-Wrong-c0ffee";
    private static final int REQUESTS = 20;

    /** Kept when a test fails, with the child processes' logs (java.io.tmpdir is under target/ in the build). */
    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    Path tmp;

    @Test
    @Timeout(300)
    void servesWithCredentialsFailsClearlyWithoutAndNeverPrintsAPassword() throws Exception {
        final Path modelDir = tmp.resolve("model");
        TinyModel.save(modelDir);
        try (EmbeddedKafka kafka = saslBrokerWithRequests()) {
            final String admin = kafka.bootstrapServers();

            final Path good = properties("good.properties", kafka.securedBootstrapServers(), modelDir, sasl(PASSWORD));
            final ChildProcess processor = processor(good, tmp.resolve("good.log"));
            final List<ConsumerRecord<String, Prediction>> predictions = TopicReader.readAll(admin,
                    "sasl-predictions-good-properties", new StringDeserializer(), StreamformerSerdes.prediction(), REQUESTS,
                    Duration.ofSeconds(120));
            final int exit = processor.stop(Duration.ofSeconds(60));
            final String goodLog = Files.readString(tmp.resolve("good.log"));
            assertThat(predictions).as("predictions with valid credentials; log:%n%s", goodLog).hasSize(REQUESTS);
            assertThat(exit).as("exit code after SIGTERM; log:%n%s", goodLog).isZero();
            assertThat(goodLog).contains("sasl.jaas.config = [hidden]");

            final Path bad = properties("bad.properties", kafka.securedBootstrapServers(), modelDir, sasl(WRONG));
            final int refused = processor(bad, tmp.resolve("bad.log")).awaitExit(Duration.ofSeconds(120));
            final String badLog = Files.readString(tmp.resolve("bad.log"));
            assertThat(refused).as(badLog).isNotZero();
            assertThat(badLog).contains("error: ").containsIgnoringCase("authentication failed")
                    .contains("security settings");

            for (final String log : List.of(goodLog, badLog)) {
                assertThat(log).doesNotContain(PASSWORD).doesNotContain(WRONG);
            }
        }
    }

    /**
     * @return a broker that asks for SASL/PLAIN on its secured listener (user streamformer), with the
     *     requests topic, the processor's ACLs and {@link #REQUESTS} requests on it
     */
    private EmbeddedKafka saslBrokerWithRequests() throws Exception {
        final EmbeddedKafka kafka = EmbeddedKafka.startWithSasl(tmp.resolve("kafka"), Map.of("streamformer", PASSWORD));
        try (Admin a = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
            a.createTopics(List.of(new NewTopic("sasl-requests", 2, (short) 1))).all().get();
            a.createAcls(acls()).all().get();
            produceRequests(kafka.bootstrapServers());
            return kafka;
        } catch (Exception | AssertionError e) {
            kafka.close();
            throw e;
        }
    }

    /**
     * The credentials as the Helm chart gives them: a Secret mounted as files, read through Kafka's
     * DirectoryConfigProvider, so that no password is in the properties.
     */
    @Test
    @Timeout(300)
    void servesWithCredentialsReadFromMountedFilesAsTheHelmChartWritesThem() throws Exception {
        final Path modelDir = tmp.resolve("model");
        TinyModel.save(modelDir);
        final Path secret = Files.createDirectories(tmp.resolve("etc-streamformer-sasl"));
        Files.writeString(secret.resolve("username"), "streamformer");
        Files.writeString(secret.resolve("password"), PASSWORD);
        try (EmbeddedKafka kafka = saslBrokerWithRequests()) {
            final String admin = kafka.bootstrapServers();
            final Path mounted = properties("mounted.properties", kafka.securedBootstrapServers(), modelDir, List.of(
                    "config.providers=dir",
                    "config.providers.dir.class=org.apache.kafka.common.config.provider.DirectoryConfigProvider",
                    "security.protocol=SASL_PLAINTEXT", "sasl.mechanism=PLAIN",
                    "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required"
                            + " username=\"${dir:" + secret + ":username}\" password=\"${dir:" + secret + ":password}\";"));
            assertThat(Files.readString(mounted)).doesNotContain(PASSWORD);
            final ChildProcess processor = processor(mounted, tmp.resolve("mounted.log"));
            final List<ConsumerRecord<String, Prediction>> predictions = TopicReader.readAll(admin,
                    "sasl-predictions-mounted-properties", new StringDeserializer(), StreamformerSerdes.prediction(),
                    REQUESTS, Duration.ofSeconds(120));
            final int exit = processor.stop(Duration.ofSeconds(60));
            final String log = Files.readString(tmp.resolve("mounted.log"));
            assertThat(predictions).as("predictions with credentials from files; log:%n%s", log).hasSize(REQUESTS);
            assertThat(exit).as("exit code after SIGTERM; log:%n%s", log).isZero();
            assertThat(log).doesNotContain(PASSWORD);
        }
    }

    @Test
    @Timeout(300)
    void servesOverTlsWithTheRightTrustStoreFailsNamingTheCertificateProblemWithAWrongOneAndPrintsNoPassword()
            throws Exception {
        final Path modelDir = tmp.resolve("model");
        TinyModel.save(modelDir);
        // Keys made here with the JDK's keytool: the broker's (for localhost), the processor's, and an
        // unrelated one that a wrong trust store holds instead of the broker's.
        final Path brokerKeys = keyPair("broker", "CN=localhost");
        final Path clientKeys = keyPair("processor", "CN=streamformer");
        final Path strangerKeys = keyPair("stranger", "CN=someone-else");
        final Path brokerTrust = trustStore("broker-trust", clientKeys, "processor");
        final Path clientTrust = trustStore("processor-trust", brokerKeys, "broker");
        final Path wrongTrust = trustStore("wrong-trust", strangerKeys, "stranger");
        try (EmbeddedKafka kafka = EmbeddedKafka.startWithTls(tmp.resolve("kafka"), brokerKeys, brokerTrust, PASSWORD)) {
            final String admin = kafka.bootstrapServers();
            try (Admin a = Admin.create(Map.of("bootstrap.servers", admin))) {
                a.createTopics(List.of(new NewTopic("sasl-requests", 2, (short) 1))).all().get();
            }
            produceRequests(admin);

            final Path good = properties("tls-good.properties", kafka.securedBootstrapServers(), modelDir,
                    tls(clientKeys, clientTrust));
            final ChildProcess processor = processor(good, tmp.resolve("tls-good.log"));
            final List<ConsumerRecord<String, Prediction>> predictions = TopicReader.readAll(admin,
                    "sasl-predictions-tls-good-properties", new StringDeserializer(), StreamformerSerdes.prediction(),
                    REQUESTS, Duration.ofSeconds(120));
            final int exit = processor.stop(Duration.ofSeconds(60));
            final String goodLog = Files.readString(tmp.resolve("tls-good.log"));
            assertThat(predictions).as("predictions over TLS; log:%n%s", goodLog).hasSize(REQUESTS);
            assertThat(exit).as("exit code after SIGTERM; log:%n%s", goodLog).isZero();
            assertThat(goodLog).contains("ssl.keystore.password = [hidden]").contains("ssl.truststore.password = [hidden]");

            final Path bad = properties("tls-bad.properties", kafka.securedBootstrapServers(), modelDir,
                    tls(clientKeys, wrongTrust));
            final int refused = processor(bad, tmp.resolve("tls-bad.log")).awaitExit(Duration.ofSeconds(120));
            final String badLog = Files.readString(tmp.resolve("tls-bad.log"));
            assertThat(refused).as(badLog).isNotZero();
            assertThat(badLog).contains("error: Cannot reach Kafka at " + kafka.securedBootstrapServers())
                    .contains("SSL handshake failed").containsIgnoringCase("certification path")
                    .contains("security settings");
            for (final String log : List.of(goodLog, badLog)) {
                assertThat(log).doesNotContain(PASSWORD);
            }
        }
    }

    private static List<String> tls(final Path keyStore, final Path trustStore) {
        return List.of("security.protocol=SSL",
                "ssl.keystore.type=PKCS12", "ssl.keystore.location=" + keyStore, "ssl.keystore.password=" + PASSWORD,
                "ssl.key.password=" + PASSWORD,
                "ssl.truststore.type=PKCS12", "ssl.truststore.location=" + trustStore,
                "ssl.truststore.password=" + PASSWORD);
    }

    private Path keyPair(final String alias, final String name) throws Exception {
        final Path store = tmp.resolve(alias + ".p12");
        keytool("-genkeypair", "-alias", alias, "-keyalg", "RSA", "-keysize", "2048", "-dname", name,
                "-ext", "SAN=dns:localhost,ip:127.0.0.1", "-validity", "2", "-storetype", "PKCS12",
                "-keystore", store.toString(), "-storepass", PASSWORD, "-keypass", PASSWORD);
        return store;
    }

    private Path trustStore(final String name, final Path keyStore, final String alias) throws Exception {
        final Path cert = tmp.resolve(alias + ".crt");
        if (!Files.exists(cert)) {
            keytool("-exportcert", "-alias", alias, "-keystore", keyStore.toString(), "-storepass", PASSWORD,
                    "-file", cert.toString());
        }
        final Path store = tmp.resolve(name + ".p12");
        keytool("-importcert", "-noprompt", "-alias", alias, "-file", cert.toString(), "-storetype", "PKCS12",
                "-keystore", store.toString(), "-storepass", PASSWORD);
        return store;
    }

    private static void keytool(final String... args) throws Exception {
        final List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "keytool")
                .toString()));
        command.addAll(List.of(args));
        final Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        final String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as("keytool %s: %s", args[0], out).isZero();
    }

    private static List<AclBinding> acls() {
        final List<AclBinding> acls = new ArrayList<>();
        final String user = "User:streamformer";
        for (final ResourceType type : List.of(ResourceType.TOPIC, ResourceType.GROUP, ResourceType.TRANSACTIONAL_ID)) {
            acls.add(new AclBinding(new ResourcePattern(type, "sasl-", PatternType.PREFIXED),
                    new AccessControlEntry(user, "*", AclOperation.ALL, AclPermissionType.ALLOW)));
        }
        for (final AclOperation op : List.of(AclOperation.IDEMPOTENT_WRITE, AclOperation.DESCRIBE,
                AclOperation.DESCRIBE_CONFIGS)) {
            acls.add(new AclBinding(new ResourcePattern(ResourceType.CLUSTER, "kafka-cluster", PatternType.LITERAL),
                    new AccessControlEntry(user, "*", op, AclPermissionType.ALLOW)));
        }
        return acls;
    }

    private static void produceRequests(final String admin) {
        final Properties p = new Properties();
        p.put("bootstrap.servers", admin);
        try (KafkaProducer<String, TokenizedInput> producer = new KafkaProducer<>(p, new StringSerializer(),
                StreamformerSerdes.tokenizedInput())) {
            for (int i = 0; i < REQUESTS; i++) {
                producer.send(new ProducerRecord<>("sasl-requests", "r-" + i, TokenizedInput.newBuilder()
                        .setRequestId("r-" + i).setTokenIds(List.of(2, 10 + i, 11, 3))
                        .setCreatedAt(Instant.now()).build()));
            }
        }
    }

    private static List<String> sasl(final String password) {
        return List.of("security.protocol=SASL_PLAINTEXT", "sasl.mechanism=PLAIN",
                "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"streamformer\""
                        + " password=\"" + password + "\";");
    }

    private Path properties(final String name, final String bootstrap, final Path modelDir,
            final List<String> security) throws IOException {
        final Path file = tmp.resolve(name);
        final List<String> lines = new ArrayList<>(List.of("bootstrap.servers=" + bootstrap));
        lines.addAll(security);
        lines.addAll(List.of(
                "application.id=sasl-app-" + name.replace('.', '-'),
                "state.dir=" + tmp.resolve("state-" + name),
                "num.stream.threads=1",
                "streamformer.model.dir=" + modelDir,
                "streamformer.topic.requests=sasl-requests",
                "streamformer.topic.predictions=sasl-predictions-" + name.replace('.', '-'),
                "streamformer.topic.latency=sasl-latency",
                "streamformer.topic.dead.letters=sasl-dead-letters",
                "streamformer.topic.partitions=2",
                ""));
        Files.writeString(file, String.join("\n", lines));
        return file;
    }

    private static ChildProcess processor(final Path properties, final Path log) throws IOException {
        // The product's own logging configuration (ChildProcess passes it), with Kafka at INFO: it prints every
        // client config.
        return new ChildProcess("processor", List.of("-Dstreamformer.kafka.log.level=INFO"),
                List.of("run", "-c", properties.toString()), log).start();
    }
}
