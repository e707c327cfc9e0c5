package dev.streamformer.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Collectors;

import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

import io.apicurio.registry.serde.avro.AvroKafkaDeserializer;
import io.apicurio.registry.serde.avro.AvroKafkaSerializer;

import dev.streamformer.schemas.DeadLetter;
import dev.streamformer.schemas.ErrorKind;
import dev.streamformer.schemas.LatencyEvent;
import dev.streamformer.schemas.Prediction;
import dev.streamformer.schemas.TokenizedInput;
import dev.streamformer.schemas.wire.SchemaRegistryClient;
import dev.streamformer.schemas.wire.WireFormat;
import dev.streamformer.schemas.wire.WireSerdes;
import dev.streamformer.stream.ModelRegistry;
import dev.streamformer.stream.StreamformerApp;
import dev.streamformer.stream.StreamformerConfig;
import dev.streamformer.testkit.EmbeddedKafka;

/**
 * The processor beside a real Apicurio Registry (run by the test on a Java 21+ JDK, on loopback):
 * requests written by Apicurio's own Avro serializer are predicted, and its deserializer reads the
 * framed outputs; a producer's own record with an extra field, another name and namespace, and the
 * Hugging Face name of the ids is served; an id the registry does not know is a dead letter naming
 * it; and the registry stopped for 20 s while a restarted processor needs a schema loses nothing and
 * dead-letters nothing.
 */
@Tag("integration")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SchemaRegistryIT {

    private static final String REQUESTS = "streamformer-requests";
    private static final String PREDICTIONS = "streamformer-predictions";
    private static final String LATENCY = "streamformer-latency";
    private static final String DEAD_LETTERS = "streamformer-dead-letters";
    private static final List<Integer> MAIL = List.of(2, 1500, 1600, 1700, 3);

    private Path tmp;
    private ApicurioRegistry registry;
    private EmbeddedKafka kafka;
    private StreamformerApp app;
    private Properties props;

    @BeforeAll
    void start() throws Exception {
        final Optional<Path> java = ApicurioRegistry.java21();
        if (java.isEmpty()) {
            System.out.println("SchemaRegistryIT skipped: Apicurio Registry needs Java 21 or later and none was found"
                    + " under /usr/lib/jvm (or in $STREAMFORMER_JAVA21_HOME); install one, for example Debian's"
                    + " openjdk-21-jdk-headless");
        }
        assumeTrue(java.isPresent(), "no Java 21+ JDK for Apicurio Registry");
        assumeTrue(Files.isRegularFile(ApicurioRegistry.APP), "the build did not unpack " + ApicurioRegistry.APP
                + " (mvn verify does, in pre-integration-test)");
        tmp = Files.createTempDirectory("schema-registry-it");
        registry = ApicurioRegistry.start(java.get(), tmp.resolve("registry"));
        kafka = EmbeddedKafka.start(tmp.resolve("kafka"), 0, Map.of());
        props = new Properties();
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "registry-processor");
        props.put(StreamsConfig.STATE_DIR_CONFIG, tmp.resolve("state").toString());
        props.put(StreamformerConfig.SCHEMA_REGISTRY_URL_CONFIG, registry.ccompatUrl());
        props.put(StreamformerConfig.OUTPUT_FORMAT_CONFIG, "confluent");
        app = StreamformerApp.start(props, new ModelRegistry());
        assertThat(app.awaitRunning(Duration.ofSeconds(90))).isTrue();
    }

    @AfterAll
    void stop() throws Exception {
        if (app != null) {
            app.close();
        }
        if (kafka != null) {
            kafka.close();
        }
        if (registry != null) {
            registry.close();
        }
    }

    private Map<String, Object> apicurio() {
        final Map<String, Object> c = new HashMap<>();
        c.put("apicurio.registry.url", registry.v3Url());
        c.put("apicurio.registry.auto-register", "true");
        c.put("apicurio.registry.use-specific-avro-reader", "true");
        return c;
    }

    private <V> Serializer<V> apicurioSerializer() {
        final AvroKafkaSerializer<V> s = new AvroKafkaSerializer<>();
        s.configure(apicurio(), false);
        return s;
    }

    private <V> Deserializer<V> apicurioDeserializer() {
        final AvroKafkaDeserializer<V> d = new AvroKafkaDeserializer<>();
        d.configure(apicurio(), false);
        return d;
    }

    private <V> void produce(final Serializer<V> values, final Map<String, V> records) throws Exception {
        final Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        try (KafkaProducer<String, V> producer = new KafkaProducer<>(p, new StringSerializer(), values)) {
            for (final Map.Entry<String, V> e : records.entrySet()) {
                producer.send(new ProducerRecord<>(REQUESTS, e.getKey(), e.getValue())).get();
            }
        }
    }

    private static TokenizedInput request(final String id) {
        return TokenizedInput.newBuilder().setRequestId(id).setTokenIds(MAIL).setCreatedAt(Instant.now()).build();
    }

    /** Reads the topic until every id in {@code ids} has a record, with the given deserializer. */
    private <V> Map<String, V> read(final String topic, final Deserializer<V> values, final Set<String> ids) {
        final List<ConsumerRecord<String, V>> all = TopicReader.readUntil(kafka.bootstrapServers(), topic,
                new StringDeserializer(), values, r -> ids.contains(r.key()), ids.size(), Duration.ofSeconds(120));
        return all.stream().filter(r -> ids.contains(r.key()))
                .collect(Collectors.toMap(ConsumerRecord::key, ConsumerRecord::value, (a, b) -> a));
    }

    private static Set<String> ids(final String prefix, final int n) {
        final Set<String> ids = new java.util.TreeSet<>();
        for (int i = 0; i < n; i++) {
            ids.add(prefix + i);
        }
        return ids;
    }

    @Test
    @Order(1)
    @Timeout(300)
    void requestsWrittenByApicuriosSerializerArePredictedAndItsDeserializerReadsTheOutputs() throws Exception {
        final Set<String> ids = ids("apicurio-", 5);
        final Map<String, TokenizedInput> requests = new java.util.LinkedHashMap<>();
        ids.forEach(id -> requests.put(id, request(id)));
        produce(apicurioSerializer(), requests);

        final Map<String, Prediction> predictions = read(PREDICTIONS, this.<Prediction>apicurioDeserializer(), ids);
        assertThat(predictions.keySet()).isEqualTo(ids);
        predictions.forEach((id, p) -> {
            assertThat(p.getRequestId()).isEqualTo(id);
            assertThat(p.getLabel()).isIn("ham", "spam");
        });
        final Map<String, LatencyEvent> latency = read(LATENCY, this.<LatencyEvent>apicurioDeserializer(), ids);
        assertThat(latency.keySet()).isEqualTo(ids);

        // The outputs carry the registry's framing: 00 and the id of the schema under <topic>-value.
        final List<ConsumerRecord<String, byte[]>> raw = TopicReader.readAll(kafka.bootstrapServers(), PREDICTIONS,
                new StringDeserializer(), new org.apache.kafka.common.serialization.ByteArrayDeserializer(), 5,
                Duration.ofSeconds(30));
        final SchemaRegistryClient ours = SchemaRegistryClient.of(Map.of(SchemaRegistryClient.URL, registry.ccompatUrl()));
        assertThat(raw.get(0).value()[0]).isZero();
        assertThat(ours.lookUp(PREDICTIONS + "-value", Prediction.getClassSchema()))
                .isEqualTo(ByteBuffer.wrap(raw.get(0).value(), 1, 4).getInt());
    }

    @Test
    @Order(2)
    @Timeout(300)
    void aProducersOwnCompatibleRecordIsServed() throws Exception {
        // Another name and namespace, the Hugging Face name of the ids, and a field the processor does not know.
        final Schema own = new Schema.Parser().parse("""
                {"type": "record", "name": "MailRequest", "namespace": "com.example.mail", "fields": [
                  {"name": "request_id", "type": "string"},
                  {"name": "tenant", "type": "string"},
                  {"name": "input_ids", "type": {"type": "array", "items": "int"}},
                  {"name": "created_at", "type": {"type": "long", "logicalType": "timestamp-millis"}}]}""");
        final GenericRecord r = new GenericData.Record(own);
        r.put("request_id", "own-1");
        r.put("tenant", "acme");
        r.put("input_ids", MAIL);
        r.put("created_at", System.currentTimeMillis());
        produce(apicurioSerializer(), Map.of("own-1", r));

        final Map<String, Prediction> p = read(PREDICTIONS, this.<Prediction>apicurioDeserializer(), Set.of("own-1"));
        assertThat(p).containsKey("own-1");
        assertThat(p.get("own-1").getNumTokens()).isEqualTo(MAIL.size());
    }

    @Test
    @Order(3)
    @Timeout(300)
    void thePythonClientProducesThroughConfluentKafkaAvroAndReadsTheFramedOutputs() throws Exception {
        final Process check = new ProcessBuilder(PYTHON, "-c", "import confluent_kafka.avro, avro, requests")
                .redirectErrorStream(true).start();
        final boolean ok = check.waitFor(60, java.util.concurrent.TimeUnit.SECONDS) && check.exitValue() == 0;
        if (!ok) {
            System.out.println("SchemaRegistryIT Python part skipped: " + PYTHON + " cannot import confluent_kafka.avro,"
                    + " avro and requests; install python3-confluent-kafka python3-avro python3-requests (.ci/run does)");
        }
        assumeTrue(ok, "Debian's python3-confluent-kafka, python3-avro and python3-requests are not installed");
        final String b = kafka.bootstrapServers();
        assertThat(python("-b", b, "--registry-url", registry.ccompatUrl(), "produce", "--format", "confluent", "--text",
                "Cheap meds, no prescription, click here now", "--id", "py-confluent")).containsExactly("py-confluent");
        assertThat(python("-b", b, "produce", "--format", "json", "--token-ids", "2,1500,1600,3", "--id", "py-json"))
                .containsExactly("py-json");
        // The requests went in framed and as JSON; the processor served both. consume stops at the end of the
        // topic, so it is asked again until both predictions are committed.
        final Map<String, com.google.gson.JsonObject> byId = new HashMap<>();
        final long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (byId.size() < 2 && System.nanoTime() < deadline) {
            for (final String line : python("-b", b, "--registry-url", registry.ccompatUrl(), "consume", "--topic",
                    "predictions", "--timeout", "10")) {
                final com.google.gson.JsonObject l = com.google.gson.JsonParser.parseString(line).getAsJsonObject();
                if (l.has("value") && Set.of("py-confluent", "py-json").contains(l.get("key").getAsString())) {
                    byId.put(l.get("key").getAsString(), l);
                }
            }
        }
        assertThat(byId.keySet()).containsExactlyInAnyOrder("py-confluent", "py-json");
        byId.values().forEach(l -> {
            assertThat(l.get("schema").getAsString()).as("read through the registry").startsWith("confluent id ");
            assertThat(l.getAsJsonObject("value").get("label").getAsString()).isIn("ham", "spam");
        });
        final List<ConsumerRecord<String, byte[]>> requests = TopicReader.readUntil(b, REQUESTS, new StringDeserializer(),
                new org.apache.kafka.common.serialization.ByteArrayDeserializer(),
                r -> r.key().startsWith("py-"), 2, Duration.ofSeconds(30));
        final Map<String, Byte> firstByte = requests.stream().filter(r -> r.key().startsWith("py-"))
                .collect(Collectors.toMap(ConsumerRecord::key, r -> r.value()[0]));
        assertThat(firstByte).containsEntry("py-confluent", (byte) 0).containsEntry("py-json", (byte) '{');
    }

    private static final String PYTHON = "/usr/bin/python3";

    private List<String> python(final String... args) throws Exception {
        final List<String> command = new java.util.ArrayList<>(List.of(PYTHON,
                Path.of("..", "clients", "python", "streamformer_client.py").toString()));
        command.addAll(List.of(args));
        final Path err = Files.createTempFile(tmp, "python", ".log");
        final Process p = new ProcessBuilder(command).redirectError(err.toFile()).start();
        final String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("exit code of %s; stderr: %s", command, Files.readString(err)).isZero();
        return out.lines().filter(l -> !l.isBlank()).toList();
    }

    @Test
    @Order(4)
    @Timeout(300)
    void anIdTheRegistryDoesNotKnowIsADeadLetterNamingIt() throws Exception {
        final byte[] unknown = {0, 0, 0x0F, 0x42, 0x3F, 2, 'x'};
        produce(new ByteArraySerializer(), Map.of("unknown-id", unknown));
        final Map<String, DeadLetter> letters = read(DEAD_LETTERS, deadLetters(), Set.of("unknown-id"));
        final DeadLetter d = letters.get("unknown-id");
        assertThat(d.getErrorKind()).isEqualTo(ErrorKind.DESERIALIZATION);
        assertThat(d.getErrorMessage()).contains("schema id 999999", registry.ccompatUrl());
        assertThat(d.getValue().array()).isEqualTo(unknown);
    }

    private Deserializer<DeadLetter> deadLetters() {
        return new WireSerdes(WireFormat.CONFLUENT,
                SchemaRegistryClient.of(Map.of(SchemaRegistryClient.URL, registry.ccompatUrl()))).deadLetter().deserializer();
    }

    @Test
    @Order(5)
    @Timeout(400)
    void theRegistryStoppedFor20sWhileARestartedProcessorNeedsASchemaLosesNothing() throws Exception {
        final Serializer<TokenizedInput> producerSide = apicurioSerializer();
        produce(producerSide, Map.of("warm-up", request("warm-up")));    // the producer's id is cached from here on
        assertThat(read(PREDICTIONS, this.<Prediction>apicurioDeserializer(), Set.of("warm-up"))).hasSize(1);
        final long deadBefore = countDeadLetters();

        // A processor restarted while the registry is down knows no schema yet.
        app.close();
        registry.stop();
        final long stoppedAt = System.nanoTime();
        app = StreamformerApp.start(props, new ModelRegistry());
        final Set<String> ids = ids("outage-", 20);
        final Map<String, TokenizedInput> requests = new java.util.LinkedHashMap<>();
        ids.forEach(id -> requests.put(id, request(id)));
        produce(producerSide, requests);
        Thread.sleep(Math.max(0, Duration.ofSeconds(20).toMillis() - (System.nanoTime() - stoppedAt) / 1_000_000));
        final double failures = app.metrics().counter("streamformer.schema.registry.failures").count();
        registry.restart();

        final Map<String, Prediction> predictions = read(PREDICTIONS, this.<Prediction>apicurioDeserializer(), ids);
        assertThat(predictions.keySet()).as("every request of the outage predicted").isEqualTo(ids);
        assertThat(failures).as("the processor counted the registry's failures while it waited").isPositive();
        assertThat(countDeadLetters()).as("nothing dead-lettered for the outage").isEqualTo(deadBefore);
    }

    @Test
    @Order(6)
    @Timeout(300)
    void theCommandLineRegistersTheSchemasAndProducesFramedRequestsWaitingForTheirPredictions() throws Exception {
        final String registered = cli(null, "schemas", "--register", "--registry-url", registry.ccompatUrl());
        final SchemaRegistryClient ours = SchemaRegistryClient.of(Map.of(SchemaRegistryClient.URL, registry.ccompatUrl()));
        assertThat(registered).contains("registry " + registry.ccompatUrl());
        for (final String subject : List.of(REQUESTS + "-value", PREDICTIONS + "-value", LATENCY + "-value",
                DEAD_LETTERS + "-value", "streamformer-shadow-predictions-value")) {
            assertThat(registered).as(subject).containsPattern(subject + " +\\S+ +id \\d+");
        }
        assertThat(registered).containsPattern(PREDICTIONS + "-value +dev.streamformer.schemas.Prediction +id "
                + ours.lookUp(PREDICTIONS + "-value", Prediction.getClassSchema()) + "\n");

        final String waited = cli("Cheap meds, no prescription, click here\nLunch at noon?\n", "produce", "-b",
                kafka.bootstrapServers(), "--format", "confluent", "--registry-url", registry.ccompatUrl(), "--wait",
                "--wait-timeout", "120", "--id-prefix", "cli-");
        assertThat(waited).containsPattern("cli-0  (ham|spam) +[01]\\.\\d{4}  Cheap meds")
                .containsPattern("cli-1  (ham|spam) +[01]\\.\\d{4}  Lunch at noon");
    }

    /** Runs a command of the command line in this JVM and returns what it printed. */
    private static String cli(final String stdin, final String... args) {
        final java.io.PrintStream stdout = System.out;
        final java.io.InputStream in = System.in;
        final java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        final int code;
        try {
            System.setOut(new java.io.PrintStream(out, true, java.nio.charset.StandardCharsets.UTF_8));
            if (stdin != null) {
                System.setIn(new java.io.ByteArrayInputStream(stdin.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
            }
            code = dev.streamformer.cli.StreamformerCli.execute(args);
        } finally {
            System.setOut(stdout);
            System.setIn(in);
        }
        final String printed = out.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertThat(code).as("exit code of %s; it printed %s", List.of(args), printed).isZero();
        return printed;
    }

    private long countDeadLetters() {
        return TopicReader.readAll(kafka.bootstrapServers(), DEAD_LETTERS, new StringDeserializer(),
                new org.apache.kafka.common.serialization.ByteArrayDeserializer(), 0, Duration.ofSeconds(5)).size();
    }
}
