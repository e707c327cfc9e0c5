package dev.streamformer.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import dev.streamformer.client.RequestProducer;
import dev.streamformer.client.Requests;
import dev.streamformer.monitor.Dashboard;
import dev.streamformer.stats.StatsApp;
import dev.streamformer.stream.ModelRegistry;
import dev.streamformer.stream.StreamformerApp;
import dev.streamformer.stream.StreamformerAppConfig;
import dev.streamformer.testkit.EmbeddedKafka;

/**
 * The dashboard in headless Chromium (Debian's chromium), against a processor, the statistics
 * application and a real broker with traffic: every chart has data, the model table has the served
 * model, the page reports no error. Leaves a screenshot in target/dashboard.png.
 */
@Tag("integration")
class DashboardIT {

    private static final String CHROMIUM = "chromium";

    @TempDir
    Path tmp;

    @Test
    @Timeout(300)
    void thePageLoadsFromARunningProcessorWithTrafficAndEveryChartHasData() throws Exception {
        final boolean present = List.of(System.getenv("PATH").split(File.pathSeparator)).stream()
                .anyMatch(dir -> new File(dir, CHROMIUM).canExecute());
        if (!present) {
            System.out.println("DashboardIT skipped: no chromium on the PATH; install it with apt-get install -y chromium"
                    + " (.ci/run does)");
        }
        assumeTrue(present, "chromium is not installed");
        try (EmbeddedKafka kafka = EmbeddedKafka.start(tmp.resolve("kafka"), 0, Map.of())) {
            final String b = kafka.bootstrapServers();
            final Properties props = new Properties();
            props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, b);
            props.put(StreamsConfig.APPLICATION_ID_CONFIG, "db-processor");
            props.put(StreamsConfig.STATE_DIR_CONFIG, tmp.resolve("state").toString());
            props.put(StreamformerAppConfig.HEALTH_PORT_CONFIG, "0");
            props.put(StreamformerAppConfig.HEALTH_BIND_CONFIG, "127.0.0.1");
            final Properties statsProps = new Properties();
            statsProps.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, b);
            statsProps.put(StreamsConfig.APPLICATION_ID_CONFIG, "db-stats");
            statsProps.put(StreamsConfig.STATE_DIR_CONFIG, tmp.resolve("stats-state").toString());
            statsProps.put(StreamformerAppConfig.STATS_WINDOW_MS_CONFIG, "2000");
            statsProps.put(StreamformerAppConfig.STATS_GRACE_MS_CONFIG, "0");
            final AtomicBoolean producing = new AtomicBoolean(true);
            try (StreamformerApp app = StreamformerApp.start(props, new ModelRegistry());
                    StatsApp stats = StatsApp.start(statsProps)) {
                assertThat(app.awaitRunning(Duration.ofSeconds(60))).isTrue();
                final Thread traffic = new Thread(() -> produce(b, producing), "db-traffic");
                traffic.start();
                final Properties client = new Properties();
                client.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, b);
                try (Dashboard dashboard = Dashboard.start("127.0.0.1", 0, new Dashboard.Sources(client,
                        "streamformer-latency-stats", "streamformer-requests", "db-processor",
                        List.of(URI.create("http://127.0.0.1:" + app.healthPort() + "/metrics"))))) {
                    final String url = "http://127.0.0.1:" + dashboard.port() + "/";
                    awaitState(url);
                    final Path screenshot = Path.of("target", "dashboard.png").toAbsolutePath();
                    final Chromium dom = chromium("--dump-dom", url);
                    chromium("--screenshot=" + screenshot, "--window-size=1400,1000", url);
                    System.out.println("dashboard screenshot: " + screenshot);

                    final Matcher charts = Pattern.compile("<svg[^>]*data-points=\"(\\d+)\"").matcher(dom.out());
                    final List<Integer> points = new ArrayList<>();
                    while (charts.find()) {
                        points.add(Integer.parseInt(charts.group(1)));
                    }
                    assertThat(points).as("data points of every chart").hasSize(10).allSatisfy(n ->
                            assertThat(n).isPositive());
                    assertThat(dom.out()).as("the shipped model's exits: mean depth beside records/s")
                            .contains("<h2>Records/s</h2>").contains("<h2>Mean layers run per request</h2>");
                    assertThat(dom.out()).as("the model table").contains("x</td>").contains("MB</td>")
                            .contains(" (serving)</td>");
                    assertThat(dom.out()).as("steady traffic: every line unbroken").contains("data-segments=\"1\"")
                            .doesNotContain("data-segments=\"2\"");
                    assertThat(dom.out()).contains("<footer id=\"errors\" class=\"errors\"></footer>");
                    assertThat(dom.out()).doesNotContain("cannot reach the dashboard server");
                    assertThat(dom.err()).as("console errors").doesNotContain("Uncaught").doesNotContainPattern(
                            "CONSOLE\\(\\d+\\)\\].*(error|Error)");
                    assertThat(screenshot).isNotEmptyFile();
                } finally {
                    producing.set(false);
                    traffic.join();
                }
            }
        }
    }

    /** Requests at about 60/s with a bad one in ten, so that every chart gets data. */
    private static void produce(final String bootstrap, final AtomicBoolean producing) {
        final Properties client = new Properties();
        client.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        int n = 0;
        while (producing.get()) {
            final List<dev.streamformer.schemas.TokenizedInput> batch = new ArrayList<>();
            for (int i = 0; i < 6; i++, n++) {
                batch.add(Requests.of("db-" + n, n % 10 == 0 ? new int[] {2, 99_999, 3} : new int[] {2, 1000 + n % 500, 3}));
            }
            try {
                RequestProducer.produce(client, "streamformer-requests", batch.iterator(), 0);
                Thread.sleep(100);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** Waits until the dashboard's state has closed windows, dead letters, lag and the model. */
    private static void awaitState(final String url) throws Exception {
        final HttpClient http = HttpClient.newHttpClient();
        final long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            last = http.send(HttpRequest.newBuilder(URI.create(url + "api/state")).build(), BodyHandlers.ofString()).body();
            final JsonObject state = JsonParser.parseString(last).getAsJsonObject();
            final JsonObject versions = state.getAsJsonObject("versions");
            final boolean served = versions.keySet().stream().anyMatch(v -> !v.equals("*")
                    && versions.getAsJsonArray(v).size() >= 2);
            if (served && versions.has("*") && state.getAsJsonArray("lag").size() >= 2
                    && !state.getAsJsonObject("models").keySet().isEmpty()) {
                return;
            }
            Thread.sleep(500);
        }
        throw new AssertionError("the dashboard's state did not fill within 120 s: " + last);
    }

    private record Chromium(String out, String err) {
    }

    private Chromium chromium(final String... args) throws Exception {
        final List<String> command = new ArrayList<>(List.of(CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--hide-scrollbars", "--enable-logging=stderr", "--v=0",
                "--user-data-dir=" + tmp.resolve("chromium-profile"), "--virtual-time-budget=6000"));
        command.addAll(List.of(args));
        final Path err = Files.createTempFile(tmp, "chromium", ".err");
        final Process p = new ProcessBuilder(command).redirectError(err.toFile()).start();
        final String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(90, TimeUnit.SECONDS)).as("chromium finished").isTrue();
        final String stderr = Files.readString(err);
        assertThat(p.exitValue()).as("chromium exit code; stderr: %s", stderr).isZero();
        return new Chromium(out, stderr);
    }
}
