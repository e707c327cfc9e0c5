/** Serdes of the schemas in Avro single-object encoding: an 8-byte CRC-64 fingerprint names the writer schema. */
package dev.streamformer.schemas.serde;
