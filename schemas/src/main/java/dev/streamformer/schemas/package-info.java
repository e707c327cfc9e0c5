/**
 * The Avro records of the four topics (TokenizedInput, Prediction, LatencyEvent, DeadLetter, ErrorKind),
 * generated at build time from {@code schemas/src/main/avro/*.avsc}.
 */
package dev.streamformer.schemas;
