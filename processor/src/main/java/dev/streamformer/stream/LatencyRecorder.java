package dev.streamformer.stream;

import dev.streamformer.schemas.LatencyEvent;

/** Builds the latency event of one request from the times the processor took along its way. */
final class LatencyRecorder {

    private LatencyRecorder() {
    }

    /**
     * Times of one request, all in microseconds since the epoch except the record timestamp.
     *
     * @param recordTimestampMs the Kafka timestamp of the request, ms
     * @param receivedUs when process() received it
     * @param inferenceStartUs when its batch's forward pass started
     * @param inferenceEndUs when that pass ended
     * @param handedToKafkaUs when its prediction was forwarded to the producer
     */
    record Times(long recordTimestampMs, long receivedUs, long inferenceStartUs, long inferenceEndUs,
            long handedToKafkaUs) {
    }

    /**
     * Where the request came from and how it was served.
     *
     * @param requestId the request id
     * @param modelVersion the model's content hash
     * @param topic source topic
     * @param partition source partition
     * @param offset source offset
     * @param thread stream thread name
     * @param task task id
     * @param batchSize requests in the forward pass
     * @param layersRun encoder layers the request ran
     */
    record Origin(String requestId, String modelVersion, String topic, int partition, long offset, String thread,
            String task, int batchSize, int layersRun) {
    }

    static LatencyEvent event(final Origin o, final Times t) {
        final long recordUs = t.recordTimestampMs() * 1_000L;
        return LatencyEvent.newBuilder()
                .setRequestId(o.requestId())
                .setModelVersion(o.modelVersion())
                .setSourceTopic(o.topic())
                .setSourcePartition(o.partition())
                .setSourceOffset(o.offset())
                .setStreamThread(o.thread())
                .setTaskId(o.task())
                .setBatchSize(o.batchSize())
                .setLayersRun(o.layersRun())
                .setRecordTimestampMs(java.time.Instant.ofEpochMilli(t.recordTimestampMs()))
                .setReceivedAtUs(t.receivedUs())
                .setInferenceStartUs(t.inferenceStartUs())
                .setInferenceEndUs(t.inferenceEndUs())
                .setHandedToKafkaUs(t.handedToKafkaUs())
                .setQueueingUs(t.receivedUs() - recordUs)
                .setBatchWaitUs(t.inferenceStartUs() - t.receivedUs())
                .setInferenceUs(t.inferenceEndUs() - t.inferenceStartUs())
                .setProcessingUs(t.handedToKafkaUs() - t.receivedUs())
                .setEndToEndUs(t.handedToKafkaUs() - recordUs)
                .build();
    }
}
