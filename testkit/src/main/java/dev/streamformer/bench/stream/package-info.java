/** Benchmarks through Kafka: the pipeline and memory suites, shared against per-task model copies, and the suite runner. */
package dev.streamformer.bench.stream;
