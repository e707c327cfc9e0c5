package dev.streamformer.schemas.wire;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.avro.AvroRuntimeException;
import org.apache.avro.Schema;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/**
 * A Kafka serde for one generated record class in a schema registry's framing: the byte 00, the
 * writer schema's id as 4 big-endian bytes, then the Avro binary body. This is what Confluent's
 * KafkaAvroSerializer and Apicurio's AvroKafkaSerializer (with 4-byte ids, their default in
 * Apicurio 3) write. The serializer registers (or looks up) the class's schema under the topic
 * name strategy's subject {@code <topic>-value}; the deserializer fetches the writer schema by id
 * and reads the record with Avro's schema resolution, so a producer's own compatible schema (extra
 * fields, another name or namespace, the aliases TokenizedInput declares) reads into the class.
 *
 * <p>Instances are thread-safe.
 *
 * @param <T> the generated record class
 */
public final class RegistryFramed<T extends SpecificRecord> implements Serde<T>, Serializer<T>, Deserializer<T> {

    /** The first byte of the framing. */
    public static final byte MAGIC = 0;
    /** Bytes before the Avro body: the magic byte and the 4-byte id. */
    public static final int HEADER = 5;

    private final Class<T> type;
    private final Schema schema;
    private final SchemaRegistryClient registry;
    private final SpecificData data;
    private final SpecificDatumWriter<T> writer;
    private final Map<Integer, SpecificDatumReader<T>> readers = new ConcurrentHashMap<>();
    /** The id of this class's schema under each topic's subject, once the registry gave it. */
    private final Map<String, Integer> idByTopic = new ConcurrentHashMap<>();

    /**
     * @param type the generated class
     * @param registry the registry the ids belong to
     */
    public RegistryFramed(final Class<T> type, final SchemaRegistryClient registry) {
        this.type = type;
        this.registry = registry;
        this.data = SpecificData.getForClass(type);
        this.schema = data.getSchema(type);
        this.writer = new SpecificDatumWriter<>(schema, data);
    }

    /** @return the subject of a topic's values under the topic name strategy */
    public static String subject(final String topic) {
        return topic + "-value";
    }

    /**
     * @param value a framed value
     * @return the schema id it carries
     */
    public static int id(final byte[] value) {
        return ByteBuffer.wrap(value, 1, 4).getInt();
    }

    @Override
    public byte[] serialize(final String topic, final T record) {
        if (record == null) {
            return null;
        }
        Integer id = idByTopic.get(topic);
        if (id == null) {
            id = registry.id(subject(topic), schema);
            idByTopic.put(topic, id);
        }
        final ByteArrayOutputStream out = new ByteArrayOutputStream(128);
        out.write(MAGIC);
        out.write(id >>> 24);
        out.write(id >>> 16);
        out.write(id >>> 8);
        out.write(id);
        try {
            final BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
            writer.write(record, encoder);
            encoder.flush();
        } catch (IOException | AvroRuntimeException e) {
            throw new SerializationException("Cannot encode " + type.getSimpleName() + " for topic " + topic + ": " + e, e);
        }
        return out.toByteArray();
    }

    /**
     * @throws SerializationException when the bytes are not framed, the id is unknown to the registry,
     *     or the writer schema cannot be read as this class
     * @throws RegistryUnavailableException when the registry does not answer (not the record's fault)
     */
    @Override
    public T deserialize(final String topic, final byte[] value) {
        if (value == null) {
            return null;
        }
        if (value.length < HEADER || value[0] != MAGIC) {
            throw new SerializationException("Value in topic " + topic + " is not in a schema registry's framing"
                    + " (byte 00 and a 4-byte schema id, then the Avro body)");
        }
        final int id = id(value);
        final SpecificDatumReader<T> reader = readers.computeIfAbsent(id, this::reader);
        try {
            return reader.read(null, DecoderFactory.get().binaryDecoder(value, HEADER, value.length - HEADER, null));
        } catch (IOException | RuntimeException e) {
            throw new SerializationException("Value in topic " + topic + " carries schema id " + id + " but its body"
                    + " does not decode with that schema (" + e + "): is the producer writing a different schema"
                    + " than the id it sends?", e);
        }
    }

    private SpecificDatumReader<T> reader(final int id) {
        final Schema writerSchema = registry.schema(id);
        final Schema readerSchema = named(writerSchema);
        final org.apache.avro.SchemaCompatibility.SchemaPairCompatibility check =
                org.apache.avro.SchemaCompatibility.checkReaderWriterCompatibility(readerSchema, writerSchema);
        if (check.getType() != org.apache.avro.SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE) {
            throw new SerializationException("schema id " + id + " (" + writerSchema.getFullName() + ") at the schema"
                    + " registry at " + registry.describe() + " cannot be read as " + type.getSimpleName() + ": "
                    + check.getResult().getIncompatibilities().stream()
                            .map(i -> i.getMessage() + " at " + i.getLocation()).toList()
                    + "; give the producer's schema the fields of " + type.getSimpleName() + ".avsc (extra fields are fine)");
        }
        return new SpecificDatumReader<>(writerSchema, readerSchema, data);
    }

    /**
     * The class's schema, with the writer's full name added as an alias when the producer named its
     * record differently, so that Avro's resolution matches the two records.
     */
    private Schema named(final Schema writerSchema) {
        if (writerSchema.getType() != Schema.Type.RECORD || writerSchema.getFullName().equals(schema.getFullName())
                || schema.getAliases().contains(writerSchema.getFullName())) {
            return schema;
        }
        final Schema aliased = new Schema.Parser().parse(schema.toString());
        aliased.addAlias(writerSchema.getFullName());
        return aliased;
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
    public void configure(final Map<String, ?> configs, final boolean isKey) {
        // Configured by its constructor.
    }

    @Override
    public void close() {
        // Nothing to release.
    }
}
