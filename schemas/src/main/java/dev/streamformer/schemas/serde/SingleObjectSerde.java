package dev.streamformer.schemas.serde;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

import org.apache.avro.AvroRuntimeException;
import org.apache.avro.Schema;
import org.apache.avro.message.BadHeaderException;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.message.MissingSchemaException;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/**
 * A Kafka serde for one generated Avro record class in Avro's single-object encoding: the two
 * bytes {@code C3 01}, the 8-byte little-endian CRC-64-AVRO fingerprint of the writer schema, then
 * the Avro binary body. Any Avro library can read and write it from the {@code .avsc} file alone.
 *
 * <p>The deserializer reads data written with the current schema and with every older writer
 * schema registered through {@link #registerWriterSchema(Schema)}; anything else, including
 * garbage bytes, raises a {@link SerializationException} that says what was expected.
 *
 * <p>Instances are thread-safe.
 *
 * @param <T> the generated record class
 */
public final class SingleObjectSerde<T extends SpecificRecord>
        implements Serde<T>, Serializer<T>, Deserializer<T> {

    static {
        TrustedPackages.trustSchemasPackage();
    }

    private final Class<T> type;
    private final BinaryMessageEncoder<T> encoder;
    private final BinaryMessageDecoder<T> decoder;
    /** Fingerprint (hex) to a description of the schema, for every schema this reader knows. */
    private final Map<String, String> known = new LinkedHashMap<>();
    /** Fingerprint (hex) Apache Avro's Python library computes for a known schema, when it differs. */
    private final Map<String, String> pythonAvro = new LinkedHashMap<>();

    /**
     * Creates a serde for a generated record class.
     *
     * @param type the generated class, for example {@code TokenizedInput.class}
     */
    public SingleObjectSerde(final Class<T> type) {
        this.type = Objects.requireNonNull(type, "type");
        final SpecificData model = SpecificData.getForClass(type);
        final Schema schema = SpecificData.get().getSchema(type);
        this.encoder = new BinaryMessageEncoder<>(model, schema);
        this.decoder = new BinaryMessageDecoder<>(model, schema);
        remember(schema, type.getSimpleName() + " (current)");
    }

    private void remember(final Schema schema, final String description) {
        final String fingerprint = Fingerprints.hex(Fingerprints.of(schema));
        known.put(fingerprint, description);
        final String python = Fingerprints.hex(Fingerprints.ofPythonAvro(schema));
        if (!python.equals(fingerprint)) {
            pythonAvro.put(python, description);
        }
    }

    /** @return the fingerprints (hex of the 8 bytes on the wire) this deserializer reads, with their schemas */
    public Map<String, String> knownFingerprints() {
        return Map.copyOf(known);
    }

    /**
     * Lets the deserializer read records written with an older (or newer) compatible schema.
     *
     * @param writerSchema a schema that producers may still be writing with
     * @return this serde
     */
    public SingleObjectSerde<T> registerWriterSchema(final Schema writerSchema) {
        return registerWriterSchema(writerSchema, writerSchema.getName() + " (an older writer schema)");
    }

    /**
     * Lets the deserializer read records written with an older (or newer) compatible schema.
     *
     * @param writerSchema a schema that producers may still be writing with
     * @param description how messages name it, for example {@code "TokenizedInput version 1"}
     * @return this serde
     */
    public SingleObjectSerde<T> registerWriterSchema(final Schema writerSchema, final String description) {
        decoder.addSchema(writerSchema);
        remember(writerSchema, description);
        return this;
    }

    @Override
    public byte[] serialize(final String topic, final T data) {
        if (data == null) {
            return null;
        }
        try {
            final ByteBuffer buffer = encoder.encode(data);
            final byte[] bytes = new byte[buffer.remaining()];
            buffer.get(bytes);
            return bytes;
        } catch (IOException | AvroRuntimeException e) {
            throw new SerializationException("Cannot encode " + type.getSimpleName() + " for topic "
                    + topic + ": " + e.getMessage(), e);
        }
    }

    @Override
    public T deserialize(final String topic, final byte[] data) {
        if (data == null) {
            return null;
        }
        try {
            if (data.length < LARGE) {
                return decoder.decode(data);
            }
            // Avro's decoder keeps the last input of each thread until that thread decodes again: a model
            // release (megabytes) would stay in the heap until the next release. This stream forgets it.
            final Forgetful in = new Forgetful(data);
            try {
                return decoder.decode(in, null);
            } finally {
                in.forget();
            }
        } catch (BadHeaderException e) {
            throw new SerializationException("Value in topic " + topic + " is not an Avro single-object encoded "
                    + type.getSimpleName() + " (" + e.getMessage() + "); produce it with the schema "
                    + type.getSimpleName() + ".avsc and Avro's single-object encoding (header C3 01 + fingerprint)", e);
        } catch (MissingSchemaException e) {
            throw new SerializationException(unknownSchema(topic, data), e);
        } catch (IOException | RuntimeException e) {
            throw new SerializationException("Value in topic " + topic + " has a valid " + type.getSimpleName()
                    + " header but a corrupt body: " + e, e);
        }
    }

    private String unknownSchema(final String topic, final byte[] data) {
        final String found = Fingerprints.hex(java.util.Arrays.copyOfRange(data, 2, 10));
        final StringBuilder knows = new StringBuilder();
        known.forEach((fp, what) -> knows.append(knows.length() == 0 ? "" : ", ").append(fp).append(' ').append(what));
        final String python = pythonAvro.get(found);
        if (python != null) {
            return "Value in topic " + topic + " carries schema fingerprint " + found + ", the fingerprint Apache Avro's"
                    + " Python library (1.11.0 to 1.12.1) computes for " + python + ": its canonical form writes a"
                    + " primitive with a logicalType as {\"type\":\"long\"} where the specification writes \"long\"."
                    + " Write the fingerprint of the specification's canonical form instead (`streamformer schemas`"
                    + " prints it; clients/python/streamformer_client.py computes it). This reader knows " + knows;
        }
        return "Value in topic " + topic + " was written with a schema this reader does not know: fingerprint "
                + found + " (the 8 bytes after C3 01, in hex). This reader knows " + knows + ". Produce with "
                + type.getSimpleName() + ".avsc (`streamformer schemas` prints the fingerprints), or upgrade this reader"
                + " if the producer writes a newer schema";
    }

    @Override
    public Serializer<T> serializer() {
        return this;
    }

    @Override
    public Deserializer<T> deserializer() {
        return this;
    }

    @Override
    public void configure(final java.util.Map<String, ?> configs, final boolean isKey) {
        // Nothing to configure: the record class fixes the schema.
    }

    @Override
    public void close() {
        // Nothing to release: the encoder and decoder hold no resources.
    }

    /** Records from this size up are decoded through a {@link Forgetful} stream. */
    private static final int LARGE = 1 << 20;

    /** A stream over an array that drops the array once told to. */
    private static final class Forgetful extends java.io.InputStream {
        private byte[] data;
        private int position;

        Forgetful(final byte[] data) {
            this.data = data;
        }

        @Override
        public int read() {
            return data == null || position >= data.length ? -1 : data[position++] & 0xff;
        }

        @Override
        public int read(final byte[] into, final int offset, final int length) {
            if (data == null || position >= data.length) {
                return -1;
            }
            final int n = Math.min(length, data.length - position);
            System.arraycopy(data, position, into, offset, n);
            position += n;
            return n;
        }

        @Override
        public int available() {
            return data == null ? 0 : data.length - position;
        }

        void forget() {
            data = null;
        }
    }
}
