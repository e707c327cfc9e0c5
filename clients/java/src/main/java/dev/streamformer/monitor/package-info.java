/** Latency statistics over latency events: percentile summaries (HdrHistogram) and a sliding window. */
package dev.streamformer.monitor;
