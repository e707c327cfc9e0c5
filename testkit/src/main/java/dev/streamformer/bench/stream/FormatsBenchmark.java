package dev.streamformer.bench.stream;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

import org.apache.kafka.streams.StreamsConfig;

import com.google.gson.GsonBuilder;

import dev.streamformer.client.Requests;
import dev.streamformer.model.InferenceModel;
import dev.streamformer.schemas.LatencyEvent;
import dev.streamformer.schemas.Prediction;
import dev.streamformer.schemas.TokenizedInput;
import dev.streamformer.schemas.wire.RequestDecoder;
import dev.streamformer.schemas.wire.SchemaRegistryClient;
import dev.streamformer.schemas.wire.WireFormat;
import dev.streamformer.schemas.wire.WireSerdes;
import dev.streamformer.stream.KafkaDefaults;
import dev.streamformer.stream.StreamformerConfig;

/**
 * The pipeline in each wire format, the same requests in and outputs written the same way: Avro
 * single-object encoding, a schema registry's framing (writer schemas fetched once and cached, the
 * output schemas registered once), and JSON. Runs alternate format by format, so that the machine's
 * drift spreads over all of them (each round starts with the next format); the table gives each format's median and spread, and the ratio of
 * each to single-object encoding.
 */
public final class FormatsBenchmark {

    private static final int PARTITIONS = 4;

    private final InferenceModel model;
    private final Path modelDir;
    private final Path work;
    private final PrintStream out;

    /**
     * @param model the model, loaded
     * @param modelDir its directory
     * @param work where the processors keep their state
     * @param out where the table goes
     */
    public FormatsBenchmark(final InferenceModel model, final Path modelDir, final Path work, final PrintStream out) {
        this.model = model;
        this.modelDir = modelDir;
        this.work = work;
        this.out = out;
    }

    /** One format's runs. */
    private record Format(WireFormat format, PipelineBenchmark bench, String topic, List<PipelineBenchmark.Run> runs) {
    }

    /**
     * @param bootstrap the broker
     * @param registryUrl the schema registry's Confluent-compatible API
     * @param records requests per run
     * @param repetitions runs per format, in alternation
     * @param length tokens per request
     * @param outDir where bench-formats.json goes
     * @return the figures, as written
     * @throws Exception when a run fails
     */
    public Map<String, Object> run(final String bootstrap, final String registryUrl, final int records,
            final int repetitions, final int length, final Path outDir) throws Exception {
        final SchemaRegistryClient registry = SchemaRegistryClient.of(Map.of(SchemaRegistryClient.URL, registryUrl));
        final Layout layout = Layout.defaults();
        final int streamThreads = layout.streamThreads();
        final int intraOp = layout.intraOp();
        final int batch = layout.batch();
        final long wait = layout.maxWaitMs();
        out.printf("== formats: the pipeline (%dx%d batch %d, exactly_once_v2, %d partitions) with requests in and outputs"
                + " out in each format, %d requests of %d tokens per run, %d runs per format in alternation; registry %s%n",
                streamThreads, intraOp, batch, PARTITIONS, records, length, repetitions, registry.describe());
        final List<Format> formats = new ArrayList<>();
        for (final WireFormat f : WireFormat.values()) {
            final Map<String, String> props = new LinkedHashMap<>();
            props.put(StreamformerConfig.OUTPUT_FORMAT_CONFIG, f.configName());
            props.put(StreamformerConfig.SCHEMA_REGISTRY_URL_CONFIG, registryUrl);
            final PipelineBenchmark bench = new PipelineBenchmark(bootstrap, model, modelDir, work.resolve("state"), length,
                    PARTITIONS, Duration.ofSeconds(2), out, props);
            formats.add(new Format(f, bench, bench.prefill(records, new WireSerdes(f, registry).tokenizedInput().serializer()),
                    new ArrayList<>()));
        }
        final Map<String, Double> codecUs = codec(registry, length);
        // The first run compiles the hot paths; it is not reported.
        final Format first = formats.get(0);
        first.bench().saturated(settings("warm-up (not reported)", streamThreads, intraOp, batch, wait), first.topic(),
                records);
        for (int r = 1; r <= repetitions; r++) {
            // Each round starts with another format, so that none always runs first or last in a round.
            for (int k = 0; k < formats.size(); k++) {
                final Format f = formats.get((r - 1 + k) % formats.size());
                f.runs().add(f.bench().saturated(settings(f.format().configName() + " #" + r, streamThreads, intraOp,
                        batch, wait), f.topic(), records));
            }
        }
        final Map<String, Object> json = new LinkedHashMap<>();
        json.put("date", Instant.now().toString());
        json.put("model", model.name());
        json.put("records_per_run", records);
        json.put("tokens_per_request", length);
        out.println();
        out.printf("%-10s %14s %20s %12s %12s %14s %16s %12s%n", "format", "records/s", "min-max", "proc p50 ms",
                "proc p99 ms", "/ avro (median)", "codec us/record", "of a record");
        final double avro = median(formats.get(0).runs());
        final Map<String, Object> byFormat = new LinkedHashMap<>();
        for (final Format f : formats) {
            final double median = median(f.runs());
            final double min = f.runs().stream().mapToDouble(PipelineBenchmark.Run::recordsPerSecond).min().orElse(0);
            final double max = f.runs().stream().mapToDouble(PipelineBenchmark.Run::recordsPerSecond).max().orElse(0);
            final PipelineBenchmark.Run mid = f.runs().stream().sorted(Comparator.comparingDouble(
                    PipelineBenchmark.Run::recordsPerSecond)).toList().get(f.runs().size() / 2);
            final List<Double> ratios = new ArrayList<>();
            for (int i = 0; i < f.runs().size(); i++) {
                ratios.add(f.runs().get(i).recordsPerSecond() / formats.get(0).runs().get(i).recordsPerSecond());
            }
            final double codec = codecUs.get(f.format().configName());
            out.printf(Locale.ROOT, "%-10s %14.1f %20s %12.1f %12.1f %14.3f %16.1f %11.2f%%%n", f.format().configName(),
                    median, String.format(Locale.ROOT, "%.1f-%.1f", min, max), mid.latencyMs().get("processing").get("p50"),
                    mid.latencyMs().get("processing").get("p99"), median / avro, codec, 100 * codec / (1e6 / avro));
            final Map<String, Object> m = new LinkedHashMap<>();
            m.put("records_per_second_median", median);
            m.put("records_per_second_min", min);
            m.put("records_per_second_max", max);
            m.put("ratio_to_avro_median", median / avro);
            m.put("ratio_to_avro_by_round", ratios);
            m.put("codec_us_per_record", codec);
            m.put("runs", f.runs());
            byFormat.put(f.format().configName(), m);
        }
        json.put("formats", byFormat);
        Files.createDirectories(outDir);
        Files.writeString(outDir.resolve("bench-formats.json"), new GsonBuilder().setPrettyPrinting()
                .serializeSpecialFloatingPointValues().create().toJson(json));
        out.printf("wrote %s%n", outDir.resolve("bench-formats.json"));
        return json;
    }

    /**
     * What a format costs a record on its own, without Kafka or the model: decoding the request and
     * encoding its prediction and latency event, timed in alternation over 7 rounds of 20,000
     * records after 3 untimed ones (the median round). The registry is asked once per schema; then
     * its cache answers, as in the processor.
     *
     * @return microseconds per record, by format
     */
    private Map<String, Double> codec(final SchemaRegistryClient registry, final int length) {
        final int n = 20_000;
        final SplittableRandom random = new java.util.SplittableRandom(5);
        final List<TokenizedInput> requests = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            requests.add(Requests.of("codec-" + i, random.ints(length, 0, 30_000).toArray()));
        }
        final Prediction prediction = Prediction.newBuilder()
                .setRequestId("codec-0").setModelName("m").setModelVersion("0123456789abcdef").setLabel("spam")
                .setLabelIndex(1).setProbabilities(Map.of("ham", 0.1, "spam", 0.9)).setNumTokens(length)
                .setCreatedAt(Instant.now()).setPredictedAt(Instant.now()).setExitLayer(2).build();
        final LatencyEvent event = LatencyEvent.newBuilder()
                .setRequestId("codec-0").setModelVersion("0123456789abcdef").setSourceTopic("t").setSourcePartition(0)
                .setSourceOffset(1).setStreamThread("StreamThread-1").setTaskId("0_0").setBatchSize(8)
                .setRecordTimestampMs(Instant.now()).setReceivedAtUs(1).setInferenceStartUs(2).setInferenceEndUs(3)
                .setHandedToKafkaUs(4).setQueueingUs(1).setBatchWaitUs(1).setInferenceUs(1).setProcessingUs(3)
                .setEndToEndUs(4).setLayersRun(2).build();
        final RequestDecoder decoder = new RequestDecoder(registry);
        final Map<String, byte[][]> encoded = new LinkedHashMap<>();
        final Map<String, WireSerdes> serdes = new LinkedHashMap<>();
        for (final WireFormat f : WireFormat.values()) {
            final WireSerdes w = new WireSerdes(f, registry);
            serdes.put(f.configName(), w);
            final byte[][] b = new byte[requests.size()][];
            for (int i = 0; i < b.length; i++) {
                b[i] = w.tokenizedInput().serializer().serialize("codec-requests", requests.get(i));
            }
            encoded.put(f.configName(), b);
        }
        final Map<String, List<Double>> rounds = new LinkedHashMap<>();
        long sink = 0;
        for (int round = 0; round < 10; round++) {
            for (final Map.Entry<String, byte[][]> e : encoded.entrySet()) {
                final WireSerdes w = serdes.get(e.getKey());
                final var predictions = w.prediction().serializer();
                final var events = w.latencyEvent().serializer();
                final long start = System.nanoTime();
                for (int i = 0; i < n; i++) {
                    final byte[] bytes = e.getValue()[i % e.getValue().length];
                    sink += decoder.decode("codec-requests", bytes, 0).getTokenIds().size();
                    sink += predictions.serialize("codec-predictions", prediction).length;
                    sink += events.serialize("codec-latency", event).length;
                }
                if (round >= 3) {
                    rounds.computeIfAbsent(e.getKey(), k -> new ArrayList<>()).add((System.nanoTime() - start) / 1e3 / n);
                }
            }
        }
        final Map<String, Double> us = new LinkedHashMap<>();
        rounds.forEach((k, v) -> us.put(k, v.stream().sorted().toList().get(v.size() / 2)));
        out.printf(Locale.ROOT, "  codec alone (decode the request, encode prediction and latency event; %d-token requests,"
                + " median of 7 rounds of %,d; checksum %d):%n", length, n, sink % 1000);
        us.forEach((k, v) -> out.printf(Locale.ROOT, "    %-10s %7.2f us per record%n", k, v));
        return us;
    }

    /**
     * The pipeline under settings of one's own, in alternation, on the same requests: each setting's
     * median records/s, spread and processing latency, and its ratio to the first setting, round by
     * round (for example tracing off against tracing on).
     *
     * @param bootstrap the broker
     * @param title what is compared, for the table's heading
     * @param arms processor properties by setting name; the first is the reference
     * @param records requests per run
     * @param repetitions runs per setting
     * @param length tokens per request
     * @param outFile where the figures go (JSON)
     * @return the figures, as written
     * @throws Exception when a run fails
     */
    public Map<String, Object> compare(final String bootstrap, final String title, final Map<String, Map<String, String>> arms,
            final int records, final int repetitions, final int length, final Path outFile) throws Exception {
        final Layout layout = Layout.defaults();
        final int streamThreads = layout.streamThreads();
        final int intraOp = layout.intraOp();
        final int batch = layout.batch();
        final long wait = layout.maxWaitMs();
        out.printf("== %s: the pipeline (%dx%d batch %d, exactly_once_v2, %d partitions), %d requests of %d tokens per run,"
                + " %d runs per setting in alternation%n", title, streamThreads, intraOp, batch, PARTITIONS, records, length,
                repetitions);
        final List<String> names = new ArrayList<>(arms.keySet());
        final List<PipelineBenchmark> benches = new ArrayList<>();
        for (final String name : names) {
            benches.add(new PipelineBenchmark(bootstrap, model, modelDir, work.resolve("state"), length, PARTITIONS,
                    Duration.ofSeconds(2), out, arms.get(name)));
        }
        final String topic = benches.get(0).prefill(records);
        benches.get(0).saturated(settings("warm-up (not reported)", streamThreads, intraOp, batch, wait), topic, records);
        final Map<String, List<PipelineBenchmark.Run>> runs = new LinkedHashMap<>();
        names.forEach(n -> runs.put(n, new ArrayList<>()));
        for (int r = 1; r <= repetitions; r++) {
            for (int k = 0; k < names.size(); k++) {
                final int a = (r - 1 + k) % names.size();
                runs.get(names.get(a)).add(benches.get(a).saturated(settings(names.get(a) + " #" + r, streamThreads,
                        intraOp, batch, wait), topic, records));
            }
        }
        out.println();
        out.printf("%-28s %12s %20s %12s %12s %16s %24s%n", "setting", "records/s", "min-max", "proc p50 ms", "proc p99 ms",
                "/ first (median)", "round by round");
        final List<PipelineBenchmark.Run> first = runs.get(names.get(0));
        final Map<String, Object> json = new LinkedHashMap<>();
        json.put("date", Instant.now().toString());
        json.put("compared", title);
        json.put("records_per_run", records);
        for (final String name : names) {
            final List<PipelineBenchmark.Run> rs = runs.get(name);
            final List<Double> ratios = new ArrayList<>();
            for (int i = 0; i < rs.size(); i++) {
                ratios.add(rs.get(i).recordsPerSecond() / first.get(i).recordsPerSecond());
            }
            final PipelineBenchmark.Run mid = rs.stream().sorted(Comparator.comparingDouble(
                    PipelineBenchmark.Run::recordsPerSecond)).toList().get(rs.size() / 2);
            final double min = ratios.stream().mapToDouble(Double::doubleValue).min().orElse(0);
            final double max = ratios.stream().mapToDouble(Double::doubleValue).max().orElse(0);
            out.printf(Locale.ROOT, "%-28s %12.1f %20s %12.1f %12.1f %16.3f %24s%n", name, median(rs),
                    String.format(Locale.ROOT, "%.1f-%.1f", rs.stream().mapToDouble(PipelineBenchmark.Run::recordsPerSecond)
                            .min().orElse(0), rs.stream().mapToDouble(PipelineBenchmark.Run::recordsPerSecond).max().orElse(0)),
                    mid.latencyMs().get("processing").get("p50"), mid.latencyMs().get("processing").get("p99"),
                    median(rs) / median(first), String.format(Locale.ROOT, "%.3f-%.3f", min, max));
            json.put(name, Map.of("properties", arms.get(name), "records_per_second_median", median(rs),
                    "ratio_to_first_by_round", ratios, "runs", rs));
        }
        Files.createDirectories(outFile.toAbsolutePath().getParent());
        Files.writeString(outFile, new GsonBuilder().setPrettyPrinting().serializeSpecialFloatingPointValues().create()
                .toJson(json));
        out.printf("wrote %s%n", outFile);
        return json;
    }

    /** The processor's default layout: stream threads, intra-op threads, batch and its longest wait. */
    private record Layout(int streamThreads, int intraOp, int batch, long maxWaitMs) {
        static Layout defaults() {
            final StreamformerConfig defaults = new StreamformerConfig(KafkaDefaults.properties());
            return new Layout(Integer.parseInt(KafkaDefaults.properties().getProperty(StreamsConfig.NUM_STREAM_THREADS_CONFIG)),
                    defaults.getInt(StreamformerConfig.INTRA_OP_THREADS_CONFIG), defaults.getInt(StreamformerConfig.BATCH_SIZE_CONFIG),
                    defaults.getLong(StreamformerConfig.BATCH_MAX_WAIT_MS_CONFIG));
        }
    }

    private static PipelineBenchmark.Settings settings(final String name, final int streamThreads, final int intraOp,
            final int batch, final long wait) {
        return new PipelineBenchmark.Settings(name, streamThreads, intraOp, batch, wait, false);
    }

    private static double median(final List<PipelineBenchmark.Run> runs) {
        final double[] v = runs.stream().mapToDouble(PipelineBenchmark.Run::recordsPerSecond).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }
}
