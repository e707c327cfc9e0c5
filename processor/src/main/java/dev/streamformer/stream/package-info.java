/**
 * The Kafka Streams side. Public: {@link dev.streamformer.stream.StreamformerApp} (the processor
 * application), {@link dev.streamformer.stream.StreamformerTopology} (its topology, or the inference
 * step added to a topology of your own), {@link dev.streamformer.stream.StreamformerConfig} and
 * {@link dev.streamformer.stream.ModelRegistry} (one loaded model per JVM). Everything else (the
 * inference processor, the batch runner and buffer, validation, the outputs, the health endpoint,
 * the thread failure policy) is package-private.
 */
package dev.streamformer.stream;
