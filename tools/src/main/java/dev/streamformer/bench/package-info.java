/** Model benchmarks without a broker: throughput on both engines against the matmul ceilings, FLOPs, resident memory. */
package dev.streamformer.bench;
