/**
 * The wire formats of requests and outputs beside Avro's single-object encoding: Avro in a schema
 * registry's framing (magic byte 0, a 4-byte schema id, the Avro body; Confluent's and Apicurio's
 * serdes write it), and plain JSON. {@link dev.streamformer.schemas.wire.RequestDecoder} tells the
 * three apart by their first bytes; {@link dev.streamformer.schemas.wire.WireSerdes} writes
 * records in the configured one and reads any.
 */
package dev.streamformer.schemas.wire;
