package dev.streamformer.monitor;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import dev.streamformer.client.CommittedReads;
import dev.streamformer.schemas.DurationStats;
import dev.streamformer.schemas.LatencyStats;
import dev.streamformer.schemas.serde.SingleObjectSerde;
import dev.streamformer.schemas.serde.StreamformerSerdes;

/**
 * The live dashboard: one page (bundled HTML, CSS and hand-written SVG charts; nothing fetched from
 * the internet) that polls {@code /api/state} every two seconds. The state comes from the statistics
 * topic (records/s and the mean layers run beside them, latency percentiles by component, batch sizes,
 * dead letters by kind, per model version), the processors' consumer group (lag on the request topic, from the committed offsets)
 * and, when given, the processors' {@code /metrics} (the model's sharing ratio, unique parameters
 * and size per version).
 */
public final class Dashboard implements AutoCloseable {

    /** Windows kept per model version. */
    static final int HISTORY = 90;
    private static final Pattern MODEL_METRIC = Pattern.compile(
            "(?m)^streamformer_model_(sharing_ratio|parameters|bytes)\\{([^}]*)\\} (\\S+)$");
    private static final Pattern LABEL = Pattern.compile("(\\w+)=\"([^\"]*)\"");

    private final HttpServer server;
    private final ScheduledExecutorService workers;
    /** One admin client for every lag poll, closed with the dashboard. */
    private final Admin admin;
    private final ExecutorService http;
    private final Map<String, Deque<LatencyStats>> windows = new TreeMap<>();
    private final Deque<long[]> lag = new ArrayDeque<>();
    /** The models each --metrics URL serves now, from its latest answer: a version no URL serves drops out. */
    private final Map<URI, Map<String, Map<String, Double>>> modelsByUrl = new LinkedHashMap<>();
    /** The URLs that did not answer last time, so that a down processor is reported once, not every poll. */
    private final Set<URI> unreachable = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private volatile boolean running = true;

    /**
     * Where the dashboard reads from.
     *
     * @param kafka Kafka client properties (bootstrap servers, security)
     * @param statsTopic the statistics topic
     * @param requestsTopic the request topic, for the lag
     * @param applicationId the processors' application id (their consumer group)
     * @param metrics the processors' /metrics URLs, for the model panel; may be empty
     */
    public record Sources(Properties kafka, String statsTopic, String requestsTopic, String applicationId,
            List<URI> metrics) {
    }

    private Dashboard(final HttpServer server, final ScheduledExecutorService workers, final ExecutorService http,
            final Admin admin) {
        this.server = server;
        this.admin = admin;
        this.workers = workers;
        this.http = http;
    }

    /**
     * Starts the dashboard.
     *
     * @param bind the address to listen on
     * @param port the port, 0 for any free one
     * @param sources where to read
     * @return the running dashboard
     * @throws IOException when the port cannot be bound
     */
    public static Dashboard start(final String bind, final int port, final Sources sources) throws IOException {
        final HttpServer server = HttpServer.create(new InetSocketAddress(bind, port), 0);
        final ScheduledExecutorService workers = Executors.newScheduledThreadPool(2, daemon("streamformer-dashboard-poll"));
        final ExecutorService http = Executors.newFixedThreadPool(2, daemon("streamformer-dashboard-http"));
        final Dashboard d = new Dashboard(server, workers, http, Admin.create(sources.kafka()));
        server.createContext("/", d::page);
        server.createContext("/api/state", exchange -> d.answer(exchange, 200, "application/json", d.stateJson()));
        server.setExecutor(http);
        server.start();
        daemon("streamformer-dashboard-statistics").newThread(() -> d.readStatistics(sources)).start();
        workers.scheduleWithFixedDelay(() -> d.pollLag(sources), 0, 2, TimeUnit.SECONDS);
        if (!sources.metrics().isEmpty()) {
            workers.scheduleWithFixedDelay(() -> d.pollModels(sources.metrics()), 0, 5, TimeUnit.SECONDS);
        }
        return d;
    }

    private static java.util.concurrent.ThreadFactory daemon(final String name) {
        return r -> {
            final Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }

    /** @return the bound port */
    public int port() {
        return server.getAddress().getPort();
    }

    private void readStatistics(final Sources sources) {
        final SingleObjectSerde<LatencyStats> serde = StreamformerSerdes.latencyStats();
        final Properties p = CommittedReads.properties(sources.kafka(), "streamformer-dashboard-" + UUID.randomUUID(), true);
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(p, new StringDeserializer(),
                new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(sources.statsTopic()));
            while (running) {
                for (final ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                    try {
                        add(serde.deserialize(r.topic(), r.value()));
                    } catch (SerializationException e) {
                        System.err.println("dashboard: skipping an undecodable statistics record: " + e.getMessage());
                    }
                }
            }
        } catch (RuntimeException e) {
            if (running) {
                System.err.println("dashboard: statistics reader stopped: " + e);
            }
        }
    }

    synchronized void add(final LatencyStats s) {
        final Deque<LatencyStats> history = windows.computeIfAbsent(s.getModelVersion(), k -> new ArrayDeque<>());
        history.addLast(s);
        while (history.size() > HISTORY) {
            history.removeFirst();
        }
    }

    private void pollLag(final Sources sources) {
        try {
            final Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(
                    sources.applicationId()).partitionsToOffsetAndMetadata().get(10, TimeUnit.SECONDS);
            final Set<TopicPartition> partitions = admin.describeTopics(List.of(sources.requestsTopic())).allTopicNames()
                    .get(10, TimeUnit.SECONDS).get(sources.requestsTopic()).partitions().stream()
                    .map(i -> new TopicPartition(sources.requestsTopic(), i.partition())).collect(Collectors.toSet());
            final Map<TopicPartition, OffsetSpec> latest = new LinkedHashMap<>();
            partitions.forEach(tp -> latest.put(tp, OffsetSpec.latest()));
            long total = 0;
            for (final var e : admin.listOffsets(latest).all().get(10, TimeUnit.SECONDS).entrySet()) {
                final OffsetAndMetadata c = committed.get(e.getKey());
                total += Math.max(0, e.getValue().offset() - (c == null ? 0 : c.offset()));
            }
            synchronized (this) {
                lag.addLast(new long[] {System.currentTimeMillis(), total});
                while (lag.size() > HISTORY) {
                    lag.removeFirst();
                }
            }
        } catch (Exception e) {
            if (running) {
                System.err.println("dashboard: cannot read the lag of " + sources.applicationId() + ": " + e.getMessage());
            }
        }
    }

    private void pollModels(final List<URI> urls) {
        final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();
        for (final URI url : urls) {
            try {
                final String text = http.send(HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(5)).build(),
                        HttpResponse.BodyHandlers.ofString()).body();
                final Map<String, Map<String, Double>> scraped = new TreeMap<>();
                parseModels(text, scraped);
                synchronized (this) {
                    modelsByUrl.put(url, scraped);
                }
                if (unreachable.remove(url)) {
                    System.err.println("dashboard: " + url + " answers again");
                }
            } catch (IOException e) {
                synchronized (this) {
                    modelsByUrl.remove(url);
                }
                if (unreachable.add(url)) {
                    System.err.println("dashboard: cannot read " + url + " (" + e + "); its models are not shown until"
                            + " it answers (said once)");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** Reads the model gauges of one /metrics answer into version -> name -> value (bytes summed over dtypes). */
    static void parseModels(final String text, final Map<String, Map<String, Double>> into) {
        final Matcher m = MODEL_METRIC.matcher(text);
        while (m.find()) {
            final Map<String, String> labels = new LinkedHashMap<>();
            final Matcher l = LABEL.matcher(m.group(2));
            while (l.find()) {
                labels.put(l.group(1), l.group(2));
            }
            final String version = labels.getOrDefault("version", "?");
            final Map<String, Double> model = into.computeIfAbsent(version, k -> new TreeMap<>());
            final double value = Double.parseDouble(m.group(3));
            switch (m.group(1)) {
                case "sharing_ratio" -> model.put("sharing_ratio", value);
                case "parameters" -> model.put(labels.getOrDefault("kind", "unique") + "_parameters", value);
                default -> model.merge("bytes", value, Double::sum);
            }
        }
    }

    /** @return everything the page draws, as JSON */
    synchronized String stateJson() {
        final StringBuilder json = new StringBuilder("{\"versions\":{");
        boolean first = true;
        for (final Map.Entry<String, Deque<LatencyStats>> e : windows.entrySet()) {
            json.append(first ? "" : ",").append(quote(e.getKey())).append(":[");
            first = false;
            boolean firstWindow = true;
            for (final LatencyStats s : e.getValue()) {
                json.append(firstWindow ? "" : ",").append(window(s));
                firstWindow = false;
            }
            json.append(']');
        }
        json.append("},\"lag\":[");
        first = true;
        for (final long[] point : lag) {
            json.append(first ? "" : ",").append('[').append(point[0]).append(',').append(point[1]).append(']');
            first = false;
        }
        json.append("],\"models\":{");
        first = true;
        final Map<String, Map<String, Double>> models = new TreeMap<>();
        modelsByUrl.values().forEach(models::putAll);
        for (final Map.Entry<String, Map<String, Double>> e : models.entrySet()) {
            json.append(first ? "" : ",").append(quote(e.getKey())).append(":{");
            first = false;
            json.append(e.getValue().entrySet().stream().map(v -> quote(v.getKey()) + ":" + v.getValue())
                    .collect(Collectors.joining(",")));
            json.append('}');
        }
        return json.append("}}").toString();
    }

    private static String window(final LatencyStats s) {
        final List<String> parts = new ArrayList<>();
        parts.add("\"start\":" + s.getWindowStart().toEpochMilli());
        parts.add("\"end\":" + s.getWindowEnd().toEpochMilli());
        parts.add("\"count\":" + s.getCount());
        parts.add(String.format(Locale.ROOT, "\"rps\":%.3f", s.getRecordsPerSecond()));
        parts.add(String.format(Locale.ROOT, "\"batch_mean\":%.3f", s.getBatchSizeMean()));
        parts.add("\"batch_max\":" + s.getBatchSizeMax());
        parts.add("\"layers_mean\":" + (s.getLayersRunMean() == null ? "null"
                : String.format(Locale.ROOT, "%.3f", s.getLayersRunMean())));
        final Map<String, DurationStats> durations = new LinkedHashMap<>();
        durations.put("queueing", s.getQueueing());
        durations.put("batch_wait", s.getBatchWait());
        durations.put("inference", s.getInference());
        durations.put("processing", s.getProcessing());
        durations.put("end_to_end", s.getEndToEnd());
        durations.forEach((name, d) -> parts.add(quote(name) + ":[" + d.getP50Us() + "," + d.getP95Us() + ","
                + d.getP99Us() + "," + d.getMaxUs() + "]"));
        parts.add("\"dead_letters\":{" + s.getDeadLetters().entrySet().stream()
                .map(e -> quote(e.getKey()) + ":" + e.getValue()).collect(Collectors.joining(",")) + "}");
        return "{" + String.join(",", parts) + "}";
    }

    private static String quote(final String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    private void page(final HttpExchange exchange) throws IOException {
        final String path = exchange.getRequestURI().getPath();
        final String file = path.equals("/") ? "index.html" : path.substring(1);
        if (!file.matches("[a-z]+\\.(html|js|css)")) {
            answer(exchange, 404, "text/plain", "not found");
            return;
        }
        try (InputStream in = Dashboard.class.getResourceAsStream("dashboard/" + file)) {
            if (in == null) {
                answer(exchange, 404, "text/plain", "not found");
                return;
            }
            final String type = file.endsWith(".html") ? "text/html" : file.endsWith(".js") ? "text/javascript" : "text/css";
            answer(exchange, 200, type + "; charset=utf-8", new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
    }

    private void answer(final HttpExchange exchange, final int status, final String type, final String body)
            throws IOException {
        final byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", type);
        exchange.getResponseHeaders().set("Cache-Control", "no-store");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Override
    public void close() {
        running = false;
        server.stop(0);
        workers.shutdownNow();
        http.shutdownNow();
        admin.close(Duration.ofSeconds(5));
    }
}
