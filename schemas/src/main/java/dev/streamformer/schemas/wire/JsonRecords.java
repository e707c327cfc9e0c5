package dev.streamformer.schemas.wire;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.avro.LogicalTypes;
import org.apache.avro.Schema;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.stream.JsonWriter;

/**
 * The outputs (predictions, latency events, dead letters) as plain JSON objects, so any language
 * and kcat read them with no Avro library: one member per Avro field under its Avro name; a
 * nullable field is its value or null (no union wrapper); timestamps are milliseconds since the
 * Unix epoch; bytes are base64 strings; enums are their symbol; maps are objects.
 */
public final class JsonRecords {

    private JsonRecords() {
    }

    /**
     * @param record a generated record
     * @return its JSON, as UTF-8
     */
    public static byte[] write(final SpecificRecord record) {
        final StringWriter text = new StringWriter();
        try (JsonWriter out = new JsonWriter(text)) {
            out.setSerializeNulls(true);
            value(out, record.getSchema(), record);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return text.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static void value(final JsonWriter out, final Schema schema, final Object v) throws IOException {
        if (v == null) {
            out.nullValue();
            return;
        }
        switch (schema.getType()) {
            case UNION -> value(out, schema.getTypes().get(SpecificData.get().resolveUnion(schema, v)), v);
            case RECORD -> {
                final SpecificRecord r = (SpecificRecord) v;
                out.beginObject();
                for (final Schema.Field f : schema.getFields()) {
                    out.name(f.name());
                    value(out, f.schema(), r.get(f.pos()));
                }
                out.endObject();
            }
            case MAP -> {
                out.beginObject();
                for (final Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
                    out.name(e.getKey().toString());
                    value(out, schema.getValueType(), e.getValue());
                }
                out.endObject();
            }
            case ARRAY -> {
                out.beginArray();
                for (final Object e : (List<?>) v) {
                    value(out, schema.getElementType(), e);
                }
                out.endArray();
            }
            case BYTES -> {
                final ByteBuffer b = ((ByteBuffer) v).duplicate();
                final byte[] bytes = new byte[b.remaining()];
                b.get(bytes);
                out.value(Base64.getEncoder().encodeToString(bytes));
            }
            case LONG -> out.value(v instanceof Instant i ? i.toEpochMilli() : ((Number) v).longValue());
            case INT, FLOAT, DOUBLE -> out.value((Number) v);
            case BOOLEAN -> out.value((Boolean) v);
            default -> out.value(v.toString());
        }
    }

    /**
     * Reads back what {@link #write} wrote.
     *
     * @param <T> the record class
     * @param json the UTF-8 JSON object
     * @param type the generated record class
     * @return the record
     * @throws SerializationException when the JSON is not such a record
     */
    public static <T extends SpecificRecord> T read(final byte[] json, final Class<T> type) {
        final Schema schema = SpecificData.get().getSchema(type);
        try {
            @SuppressWarnings("unchecked")
            final T record = (T) fromJson(JsonParser.parseString(new String(json, StandardCharsets.UTF_8)), schema, "$");
            return record;
        } catch (RuntimeException e) {
            throw new SerializationException("Not a JSON " + type.getSimpleName() + ": " + e.getMessage(), e);
        }
    }

    private static Object fromJson(final JsonElement e, final Schema schema, final String path) {
        if (e == null || e.isJsonNull()) {
            if (schema.getType() == Schema.Type.UNION || schema.getType() == Schema.Type.NULL) {
                return null;
            }
            throw new IllegalArgumentException(path + " is missing or null");
        }
        return switch (schema.getType()) {
            case UNION -> {
                final Schema branch = schema.getTypes().stream().filter(s -> s.getType() != Schema.Type.NULL).findFirst()
                        .orElseThrow();
                yield fromJson(e, branch, path);
            }
            case RECORD -> {
                final JsonObject o = e.getAsJsonObject();
                final SpecificRecord r = (SpecificRecord) SpecificData.get().newRecord(null, schema);
                for (final Schema.Field f : schema.getFields()) {
                    r.put(f.pos(), o.has(f.name()) ? fromJson(o.get(f.name()), f.schema(), path + "." + f.name())
                            : SpecificData.get().getDefaultValue(f));
                }
                yield r;
            }
            case MAP -> {
                final Map<String, Object> m = new LinkedHashMap<>();
                e.getAsJsonObject().entrySet().forEach(x -> m.put(x.getKey(),
                        fromJson(x.getValue(), schema.getValueType(), path + "." + x.getKey())));
                yield m;
            }
            case ARRAY -> {
                final List<Object> l = new ArrayList<>();
                e.getAsJsonArray().forEach(x -> l.add(fromJson(x, schema.getElementType(), path + "[]")));
                yield l;
            }
            case BYTES -> ByteBuffer.wrap(Base64.getDecoder().decode(e.getAsString()));
            case LONG -> schema.getLogicalType() instanceof LogicalTypes.TimestampMillis
                    ? Instant.ofEpochMilli(e.getAsLong()) : e.getAsLong();
            case INT -> e.getAsInt();
            case DOUBLE -> e.getAsDouble();
            case FLOAT -> e.getAsFloat();
            case BOOLEAN -> e.getAsBoolean();
            case ENUM -> SpecificData.get().createEnum(e.getAsString(), schema);
            default -> e.getAsString();
        };
    }
}
