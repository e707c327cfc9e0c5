/** Kafka administration the processor needs: topics created or checked at start-up, and the broker check. */
package dev.streamformer.kafka;
