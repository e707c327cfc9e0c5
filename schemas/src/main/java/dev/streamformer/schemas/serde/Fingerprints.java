package dev.streamformer.schemas.serde;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Set;

import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;

/**
 * The fingerprints single-object encoding carries: CRC-64-AVRO of a schema's parsing canonical
 * form, as 8 little-endian bytes, shown in hex. Also the fingerprint Apache Avro's Python library
 * (1.11.0 to 1.12.1) computes instead: its canonical form writes a primitive that carries a
 * logicalType as {@code {"type":"long"}} where the specification (and Java) write {@code "long"},
 * so a Python producer using it sends a fingerprint no reader knows. Knowing that wrong value lets
 * a dead letter say what happened and how to fix it.
 */
public final class Fingerprints {

    private Fingerprints() {
    }

    /**
     * @param schema a schema
     * @return its parsing canonical form, as the Avro specification defines it
     */
    public static String canonicalForm(final Schema schema) {
        return SchemaNormalization.toParsingForm(schema);
    }

    /**
     * @param schema a schema
     * @return the 8 bytes single-object encoding carries for it
     */
    public static byte[] of(final Schema schema) {
        return littleEndian(SchemaNormalization.parsingFingerprint64(schema));
    }

    /**
     * @param schema a schema
     * @return the 8 bytes Apache Avro's Python library 1.11-1.12 writes for it (equal to {@link #of}
     *     when the schema has no primitive with a logicalType)
     */
    public static byte[] ofPythonAvro(final Schema schema) {
        return littleEndian(SchemaNormalization.fingerprint64(canonicalForm(schema, true).getBytes(StandardCharsets.UTF_8)));
    }

    /**
     * @param schema a schema
     * @param pythonAvroBug write a primitive with a logicalType as {@code {"type":"<primitive>"}}
     * @return the canonical form, with or without the Python library's bug
     */
    public static String canonicalForm(final Schema schema, final boolean pythonAvroBug) {
        final StringBuilder form = new StringBuilder();
        build(schema, form, new HashSet<>(), pythonAvroBug);
        return form.toString();
    }

    /**
     * @param fingerprint 8 bytes
     * @return them in hex, in the order they are on the wire
     */
    public static String hex(final byte[] fingerprint) {
        return HexFormat.of().formatHex(fingerprint);
    }

    private static byte[] littleEndian(final long fingerprint) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(fingerprint).array();
    }

    /** The parsing canonical form (specification: PRIMITIVES, FULLNAMES, STRIP, ORDER, STRINGS). */
    private static void build(final Schema s, final StringBuilder o, final Set<String> seen, final boolean bug) {
        switch (s.getType()) {
            case UNION -> {
                o.append('[');
                for (int i = 0; i < s.getTypes().size(); i++) {
                    o.append(i == 0 ? "" : ",");
                    build(s.getTypes().get(i), o, seen, bug);
                }
                o.append(']');
            }
            case ARRAY -> {
                o.append("{\"type\":\"array\",\"items\":");
                build(s.getElementType(), o, seen, bug);
                o.append('}');
            }
            case MAP -> {
                o.append("{\"type\":\"map\",\"values\":");
                build(s.getValueType(), o, seen, bug);
                o.append('}');
            }
            case RECORD, ENUM, FIXED -> {
                final String name = s.getFullName();
                if (!seen.add(name)) {
                    o.append('"').append(name).append('"');
                    return;
                }
                o.append("{\"name\":\"").append(name).append("\",\"type\":\"").append(s.getType().getName())
                        .append('"');
                if (s.getType() == Schema.Type.ENUM) {
                    o.append(",\"symbols\":[");
                    for (int i = 0; i < s.getEnumSymbols().size(); i++) {
                        o.append(i == 0 ? "" : ",").append('"').append(s.getEnumSymbols().get(i)).append('"');
                    }
                    o.append(']');
                } else if (s.getType() == Schema.Type.FIXED) {
                    o.append(",\"size\":").append(s.getFixedSize());
                } else {
                    o.append(",\"fields\":[");
                    for (int i = 0; i < s.getFields().size(); i++) {
                        final Schema.Field f = s.getFields().get(i);
                        o.append(i == 0 ? "" : ",").append("{\"name\":\"").append(f.name()).append("\",\"type\":");
                        build(f.schema(), o, seen, bug);
                        o.append('}');
                    }
                    o.append(']');
                }
                o.append('}');
            }
            default -> {
                if (bug && s.getLogicalType() != null) {
                    o.append("{\"type\":\"").append(s.getType().getName()).append("\"}");
                } else {
                    o.append('"').append(s.getType().getName()).append('"');
                }
            }
        }
    }
}
