/**
 * Kafka administration the processor needs: topics created or checked at start-up, and the broker
 * check. Not API: the command line and the test kit use it, and it changes with them.
 */
package dev.streamformer.kafka.internals;
