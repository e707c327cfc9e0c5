package dev.streamformer.stream;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

import org.apache.kafka.streams.KafkaStreams;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * The HTTP endpoint an orchestrator probes and Prometheus scrapes: {@code /metrics} answers the
 * processor's metrics in the Prometheus text format ({@link ServingMetrics}, Kafka Streams', the JVM's); {@code /health/live} is 200 while the processor
 * has not failed (503 once it is in ERROR or has stopped), {@code /health/ready} is 200 only while
 * every stream thread runs and no task waits for a model release (503 while starting, rebalancing,
 * waiting or shutting down). Both answer a small JSON document with the state, the model served and,
 * while a task waits, what for.
 */
final class HealthServer implements AutoCloseable {

    private final HttpServer server;

    private HealthServer(final HttpServer server) {
        this.server = server;
    }

    /**
     * @param bind the address to listen on (0.0.0.0: every interface)
     * @param port the port, 0 for any free port
     * @param state the processor's current state
     * @param model what is served (names, versions), for the answer
     * @param waiting why a task waits before serving (readiness is then 503), or null
     * @param metrics the metrics in the Prometheus text format, for GET /metrics
     * @return the running server
     * @throws IOException when the port cannot be bound
     */
    static HealthServer start(final String bind, final int port, final Supplier<KafkaStreams.State> state,
            final Supplier<String> model, final Supplier<String> waiting, final Supplier<String> metrics)
            throws IOException {
        final HttpServer server = HttpServer.create(new InetSocketAddress(bind, port), 0);
        server.createContext("/health/live", exchange -> answer(exchange, live(state.get()), state.get(), model.get(),
                waiting.get()));
        server.createContext("/health/ready", exchange -> {
            final String why = waiting.get();
            answer(exchange, state.get() == KafkaStreams.State.RUNNING && why == null, state.get(), model.get(), why);
        });
        server.createContext("/metrics", exchange -> {
            final byte[] body = metrics.get().getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.setExecutor(Executors.newSingleThreadExecutor(r -> {
            final Thread t = new Thread(r, "streamformer-health");
            t.setDaemon(true);
            return t;
        }));
        server.start();
        return new HealthServer(server);
    }

    private static boolean live(final KafkaStreams.State state) {
        return state != KafkaStreams.State.ERROR && state != KafkaStreams.State.NOT_RUNNING;
    }

    private static void answer(final HttpExchange exchange, final boolean ok, final KafkaStreams.State state,
            final String model, final String waiting) throws IOException {
        final byte[] body = String.format(Locale.ROOT, "{\"status\":\"%s\",\"state\":\"%s\",\"model\":\"%s\"%s}%n",
                ok ? "UP" : "DOWN", state, json(model), waiting == null ? "" : ",\"waiting\":\"" + json(waiting) + "\"")
                .getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(ok ? 200 : 503, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    private static String json(final String text) {
        return text.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", " ");
    }

    /**
     * Fails at once when the port is taken, before the processor spends seconds connecting and loading.
     *
     * @param bind the address to listen on
     * @param port the port; 0 (any free port) and -1 (no endpoint) always pass
     * @throws IllegalStateException naming the port and the setting to change
     */
    static void checkFree(final String bind, final int port) {
        if (port <= 0) {
            return;
        }
        try (java.net.ServerSocket probe = new java.net.ServerSocket()) {
            probe.setReuseAddress(true);
            probe.bind(new InetSocketAddress(bind, port));
        } catch (IOException e) {
            throw taken(port, e);
        }
    }

    /** @return the error for a health port that cannot be bound */
    static IllegalStateException taken(final int port, final IOException e) {
        return new IllegalStateException("Cannot serve the health endpoint on port " + port + ": " + e.getMessage()
                + " (choose a free " + StreamformerAppConfig.HEALTH_PORT_CONFIG + " or --health-port)", e);
    }

    /** @return the bound port */
    int port() {
        return server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
