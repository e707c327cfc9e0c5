package dev.streamformer.stream;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.config.MeterFilterReply;

/**
 * Brings Kafka's client and Streams metrics (and a few of Micrometer's JVM ones) to the Prometheus
 * conventions that {@code promtool check metrics} lints: no {@code _count} suffix on a gauge
 * ({@code connection-count} becomes {@code connections}), help text where Kafka has none, and
 * durations in seconds. Kafka reports some totals in nanoseconds or milliseconds ({@code
 * io-wait-time-ns-total}, {@code txn-commit-time-ns-total}, {@code start-time-ms}, and Micrometer's
 * {@code process.cpu.time}); a meter filter
 * can rename but not rescale them, so they are left out rather than exported under a wrong unit.
 * Everything an operator watches stays: thread state, process, poll and commit rates and latencies,
 * records lag, producer and consumer rates. The processor's own meters ({@link ServingMetrics})
 * follow the conventions already.
 */
final class PrometheusNames implements MeterFilter {

    @Override
    public MeterFilterReply accept(final Meter.Id id) {
        final boolean abbreviatedUnit = id.getName().matches(".*\\.(ns|ms|us)(\\..*|$)")
                || "ns".equals(id.getBaseUnit()) || "ms".equals(id.getBaseUnit()) || "us".equals(id.getBaseUnit());
        return abbreviatedUnit ? MeterFilterReply.DENY : MeterFilterReply.NEUTRAL;
    }

    @Override
    public Meter.Id map(final Meter.Id id) {
        final String name = rename(id.getName());
        final String description = id.getDescription() == null || id.getDescription().isBlank()
                ? "Kafka client metric " + id.getName() : id.getDescription();
        if (name.equals(id.getName()) && description.equals(id.getDescription())) {
            return id;
        }
        return new Meter.Id(name, Tags.of(id.getTagsAsIterable()), id.getBaseUnit(), description, id.getType());
    }

    /**
     * @param name a dotted Micrometer name
     * @return the name with gauge {@code .count} suffixes replaced
     */
    static String rename(final String name) {
        String n = name;
        if (n.endsWith(".connection.count")) {
            n = n.substring(0, n.length() - ".connection.count".length()) + ".connections";
        } else if (n.equals("system.cpu.count")) {
            n = "system.cpus";
        } else if (n.endsWith(".count") && n.startsWith("kafka.")) {
            n = n.substring(0, n.length() - ".count".length()) + ".number";
        }
        return n;
    }
}
