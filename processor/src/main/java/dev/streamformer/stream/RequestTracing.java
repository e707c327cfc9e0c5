package dev.streamformer.stream;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanBuilder;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapSetter;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.exporter.zipkin.ZipkinSpanExporter;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import zipkin2.reporter.urlconnection.URLConnectionSender;

/**
 * Traces requests with OpenTelemetry, after its messaging semantic conventions: each request gets a
 * {@code process <topic>} span (kind CONSUMER) that continues the producer's trace from the request's
 * W3C {@code traceparent} header (or starts one), with the Kafka attributes (system, destination,
 * partition, offset, consumer group, key); each forward pass gets an {@code inference <model>} span
 * linked to the process spans of its requests; and the process span's context goes out in the
 * {@code traceparent} of everything written for the request (prediction, latency event, dead letter,
 * shadow prediction). Off ({@link #OFF}) unless {@code streamformer.tracing.exporter} names OTLP or
 * Zipkin; one SDK per JVM and configuration, flushed at exit.
 */
final class RequestTracing {

    /** Tracing off: every call returns at once. */
    static final RequestTracing OFF = new RequestTracing(null);

    private static final W3CTraceContextPropagator W3C = W3CTraceContextPropagator.getInstance();
    private static final Map<String, RequestTracing> BY_CONFIGURATION = new ConcurrentHashMap<>();
    /** The process span's attribute naming its forward pass's span, since Zipkin keeps no links. */
    static final AttributeKey<String> INFERENCE_SPAN = AttributeKey.stringKey("streamformer.inference.span");

    private final Tracer tracer;

    private RequestTracing(final Tracer tracer) {
        this.tracer = tracer;
    }

    /**
     * @param config the settings
     * @param serviceName the service name spans carry (the application id)
     * @return the JVM's tracing for these settings, or {@link #OFF}
     */
    static RequestTracing of(final StreamformerConfig config, final String serviceName) {
        final String exporter = config.getString(StreamformerConfig.TRACING_EXPORTER_CONFIG);
        if ("none".equals(exporter)) {
            return OFF;
        }
        final String endpoint = config.getString(StreamformerConfig.TRACING_ENDPOINT_CONFIG);
        final double sampling = config.getDouble(StreamformerConfig.TRACING_SAMPLING_CONFIG);
        final String key = exporter + '|' + endpoint + '|' + sampling + '|' + serviceName;
        return BY_CONFIGURATION.computeIfAbsent(key, k -> start(exporter, endpoint, sampling, serviceName));
    }

    private static RequestTracing start(final String exporter, final String endpoint, final double sampling,
            final String serviceName) {
        final SpanExporter spans = switch (exporter) {
            case "otlp" -> OtlpHttpSpanExporter.builder().setEndpoint(endpoint.isBlank()
                    ? "http://localhost:4318/v1/traces" : endpoint).build();
            case "zipkin" -> ZipkinSpanExporter.builder().setSender(URLConnectionSender.create(endpoint.isBlank()
                    ? "http://localhost:9411/api/v2/spans" : endpoint)).build();
            default -> throw new IllegalArgumentException("streamformer.tracing.exporter is none, otlp or zipkin, not "
                    + exporter);
        };
        final SdkTracerProvider provider = SdkTracerProvider.builder()
                .setResource(Resource.getDefault().merge(Resource.create(Attributes.of(
                        AttributeKey.stringKey("service.name"), serviceName))))
                .setSampler(Sampler.parentBased(Sampler.traceIdRatioBased(sampling)))
                .addSpanProcessor(BatchSpanProcessor.builder(spans).setScheduleDelay(Duration.ofMillis(500)).build())
                .build();
        final OpenTelemetrySdk sdk = OpenTelemetrySdk.builder().setTracerProvider(provider).build();
        Runtime.getRuntime().addShutdownHook(new Thread(sdk::close, "streamformer-tracing-flush"));
        return new RequestTracing(sdk.getTracer("dev.streamformer", RequestTracing.class.getPackage().getImplementationVersion()));
    }

    /** @return whether spans are recorded */
    boolean on() {
        return tracer != null;
    }

    /**
     * Starts a request's process span, a child of its {@code traceparent} when it has one.
     *
     * @return the span, or null when tracing is off
     */
    Span startProcess(final Headers headers, final String topic, final int partition, final long offset,
            final String group, final String key) {
        if (tracer == null) {
            return null;
        }
        final Context parent = W3C.extract(Context.root(), headers, HEADERS);
        final SpanBuilder b = tracer.spanBuilder("process " + topic).setSpanKind(SpanKind.CONSUMER).setParent(parent)
                .setAttribute("messaging.system", "kafka")
                .setAttribute("messaging.operation.type", "process")
                .setAttribute("messaging.operation.name", "process")
                .setAttribute("messaging.destination.name", topic)
                .setAttribute("messaging.destination.partition.id", Integer.toString(partition))
                .setAttribute("messaging.kafka.offset", offset)
                .setAttribute("messaging.consumer.group.name", group);
        if (key != null) {
            b.setAttribute("messaging.kafka.message.key", key);
        }
        return b.startSpan();
    }

    /**
     * Starts the span of a forward pass, linked to the process spans of its requests; each of those
     * names it in {@link #INFERENCE_SPAN}, as Zipkin shows no links.
     *
     * @return the span, or null when tracing is off
     */
    Span startInference(final String model, final String version, final List<Span> requests) {
        if (tracer == null) {
            return null;
        }
        final SpanBuilder b = tracer.spanBuilder("inference " + model).setSpanKind(SpanKind.INTERNAL)
                .setParent(Context.root()).setAttribute("streamformer.model.name", model)
                .setAttribute("streamformer.model.version", version)
                .setAttribute("streamformer.batch.size", (long) requests.size());
        for (final Span r : requests) {
            if (r != null) {
                b.addLink(r.getSpanContext());
            }
        }
        final Span inference = b.startSpan();
        final String id = inference.getSpanContext().getTraceId() + "-" + inference.getSpanContext().getSpanId();
        for (final Span r : requests) {
            if (r != null) {
                r.setAttribute(INFERENCE_SPAN, id);
            }
        }
        return inference;
    }

    /**
     * Ends a request's process span after its prediction was forwarded.
     */
    static void served(final Span span, final String version, final String label, final int layers) {
        if (span != null) {
            span.setAttribute("streamformer.model.version", version);
            span.setAttribute("streamformer.label", label);
            span.setAttribute("streamformer.layers_run", (long) layers);
            span.end();
        }
    }

    /** Ends a request's process span after its dead letter was forwarded, as an error. */
    static void failed(final Span span, final String kind, final String message) {
        if (span != null) {
            span.setStatus(StatusCode.ERROR, message);
            span.setAttribute("error.type", kind);
            span.end();
        }
    }

    /** Ends a span; null is no span. */
    static void end(final Span span) {
        if (span != null) {
            span.end();
        }
    }

    /**
     * Puts a span's context into outgoing headers, in place of the request's own trace headers.
     *
     * @return the headers
     */
    static Headers inject(final Span span, final Headers headers) {
        if (span != null && span.getSpanContext().isValid()) {
            headers.remove("traceparent");
            headers.remove("tracestate");
            W3C.inject(Context.root().with(span), headers, SET);
        }
        return headers;
    }

    /** @return a span's context, for tests and logs */
    static SpanContext context(final Span span) {
        return span == null ? SpanContext.getInvalid() : span.getSpanContext();
    }

    private static final TextMapGetter<Headers> HEADERS = new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(final Headers carrier) {
            return () -> java.util.Arrays.stream(carrier.toArray()).map(Header::key).iterator();
        }

        @Override
        public String get(final Headers carrier, final String key) {
            final Header h = carrier == null ? null : carrier.lastHeader(key);
            return h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
        }
    };

    private static final TextMapSetter<Headers> SET = (carrier, key, value) ->
            carrier.add(key, value.getBytes(StandardCharsets.UTF_8));
}
