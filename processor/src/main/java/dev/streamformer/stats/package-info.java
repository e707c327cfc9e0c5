/**
 * Windowed latency statistics, computed with Kafka Streams: per model version, merged over partitions
 * and instances, percentiles from HdrHistograms (within 1 %), one LatencyStats record per closed window.
 */
package dev.streamformer.stats;
