package dev.streamformer.schemas.wire;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** How a record's value is encoded on a topic. */
public enum WireFormat {

    /** Avro's single-object encoding: C3 01, the 8-byte schema fingerprint, the Avro body. No registry. */
    AVRO("avro"),
    /** A schema registry's framing: the byte 00, the schema's 4-byte id (big-endian), the Avro body. */
    CONFLUENT("confluent"),
    /** One UTF-8 JSON object. */
    JSON("json");

    private final String configName;

    WireFormat(final String configName) {
        this.configName = configName;
    }

    /** @return the name in settings and on the command line */
    public String configName() {
        return configName;
    }

    /**
     * @param name avro, confluent or json (any case)
     * @return the format
     * @throws IllegalArgumentException naming the accepted names
     */
    public static WireFormat parse(final String name) {
        for (final WireFormat f : values()) {
            if (f.configName.equals(name.trim().toLowerCase(Locale.ROOT))) {
                return f;
            }
        }
        throw new IllegalArgumentException("Unknown format '" + name + "': use one of " + names());
    }

    /** @return the accepted names, comma separated */
    public static String names() {
        return Arrays.stream(values()).map(WireFormat::configName).collect(Collectors.joining(", "));
    }

    /**
     * Tells the format of a value by its first bytes: C3 01 is single-object Avro, 00 the registry
     * framing, {@code {} (after any white space) JSON; so is {@code [}, for a message saying a request
     * is an object, not an array.
     *
     * @param value the bytes of a value
     * @return its format, or null when it is none of them
     */
    public static WireFormat of(final byte[] value) {
        if (value == null || value.length == 0) {
            return null;
        }
        if (value.length >= 2 && (value[0] & 0xff) == 0xC3 && value[1] == 0x01) {
            return AVRO;
        }
        if (value[0] == 0) {
            return CONFLUENT;
        }
        for (final byte b : value) {
            if (b == '{' || b == '[') {
                return JSON;
            }
            if (b != ' ' && b != '\t' && b != '\r' && b != '\n') {
                return null;
            }
        }
        return null;
    }
}
