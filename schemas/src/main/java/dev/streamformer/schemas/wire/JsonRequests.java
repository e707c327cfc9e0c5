package dev.streamformer.schemas.wire;

import java.io.IOException;
import java.io.StringReader;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.kafka.common.errors.SerializationException;

import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import com.google.gson.stream.MalformedJsonException;

import dev.streamformer.schemas.TokenizedInput;
import dev.streamformer.schemas.internals.NearestName;

/**
 * Reads a request written as one UTF-8 JSON object, the form {@code schemas/src/main/json/TokenizedInput.schema.json}
 * publishes: the fields of TokenizedInput by their Avro names ({@code request_id} required; {@code text}
 * or {@code token_ids}; optional {@code attention_mask}, {@code segment_ids}, {@code model},
 * {@code created_at} as milliseconds since the epoch or an ISO-8601 instant, {@code metadata} as an
 * object of strings). {@code input_ids} and {@code token_type_ids}, the names a Hugging Face
 * tokenizer writes, are accepted for {@code token_ids} and {@code segment_ids}. Anything else is a
 * {@link SerializationException} naming the field, its JSON path and the line and column.
 */
public final class JsonRequests {

    /** The fields, by name, with the names they may also go by. */
    static final Map<String, String> FIELDS = fields();

    private static final Pattern POSITION = Pattern.compile("line (\\d+) column (\\d+)");

    private JsonRequests() {
    }

    private static Map<String, String> fields() {
        final Map<String, String> f = new LinkedHashMap<>();
        for (final String name : List.of("request_id", "text", "token_ids", "attention_mask", "segment_ids", "model",
                "created_at", "metadata")) {
            f.put(name, name);
        }
        f.put("input_ids", "token_ids");
        f.put("token_type_ids", "segment_ids");
        return f;
    }

    /**
     * @param value the UTF-8 bytes of one JSON object
     * @param defaultCreatedAtMs the created_at of a request that carries none (the record's timestamp)
     * @return the request
     * @throws SerializationException naming what is wrong, where, and the fix
     */
    public static TokenizedInput read(final byte[] value, final long defaultCreatedAtMs) {
        final String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(value)).toString();
        } catch (CharacterCodingException e) {
            throw new SerializationException("JSON request is not valid UTF-8 (" + e.getMessage()
                    + "): write the JSON object as UTF-8 text");
        }
        final JsonReader in = new JsonReader(new StringReader(text));
        in.setStrictness(Strictness.STRICT);
        try {
            final TokenizedInput request = object(in, defaultCreatedAtMs);
            final boolean more;
            try {
                more = in.peek() != JsonToken.END_DOCUMENT;
            } catch (MalformedJsonException e) {
                throw error(in, "more content after the request object", "send one JSON object per record");
            }
            if (more) {
                throw error(in, "more content after the request object", "send one JSON object per record");
            }
            return request;
        } catch (MalformedJsonException | java.io.EOFException e) {
            throw new SerializationException("JSON request is malformed: " + e.getMessage()
                    .replace("Use JsonReader.setStrictness(Strictness.LENIENT) to accept malformed JSON ", "")
                    .replaceAll("\\s*See https://\\S+", "")
                    + ": send one complete JSON object (kcat -P sends each line as one record)");
        } catch (IOException | IllegalStateException | NumberFormatException e) {
            throw new SerializationException("JSON request is malformed: " + e.getMessage(), e);
        }
    }

    private static TokenizedInput object(final JsonReader in, final long defaultCreatedAtMs) throws IOException {
        if (in.peek() != JsonToken.BEGIN_OBJECT) {
            throw error(in, "the request is a JSON " + kind(in.peek()) + ", not an object",
                    "send an object such as {\"request_id\": \"r1\", \"text\": \"...\"}");
        }
        final TokenizedInput.Builder b = TokenizedInput.newBuilder().setCreatedAt(Instant.ofEpochMilli(defaultCreatedAtMs));
        final Set<String> seen = new HashSet<>();
        in.beginObject();
        while (in.hasNext()) {
            final String given = in.nextName();
            final String name = FIELDS.get(given);
            if (name == null) {
                throw error(in, "unknown field \"" + given + "\"", "did you mean \"" + NearestName.of(given, FIELDS.keySet()) + "\"? The fields are "
                        + String.join(", ", FIELDS.keySet()) + " (schemas/src/main/json/TokenizedInput.schema.json)");
            }
            if (!seen.add(name)) {
                throw error(in, "field \"" + name + "\" given twice" + (given.equals(name) ? "" : " (as " + given + ")"),
                        "give each field once");
            }
            if (in.peek() == JsonToken.NULL && !name.equals("request_id") && !name.equals("token_ids")
                    && !name.equals("created_at")) {
                in.nextNull();
                continue;
            }
            switch (name) {
                case "request_id" -> b.setRequestId(string(in, name));
                case "text" -> b.setText(string(in, name));
                case "model" -> b.setModel(string(in, name));
                case "token_ids" -> b.setTokenIds(ints(in, name));
                case "attention_mask" -> b.setAttentionMask(ints(in, name));
                case "segment_ids" -> b.setSegmentIds(ints(in, name));
                case "created_at" -> b.setCreatedAt(instant(in));
                case "metadata" -> b.setMetadata(metadata(in));
                default -> throw new IllegalStateException(name);
            }
        }
        in.endObject();
        if (!b.hasRequestId()) {
            throw error(in, "field \"request_id\" is missing", "every request needs a request_id string");
        }
        if (!seen.contains("token_ids")) {
            b.setTokenIds(List.of());
        }
        return b.build();
    }

    private static String string(final JsonReader in, final String field) throws IOException {
        if (in.peek() != JsonToken.STRING) {
            throw error(in, "field \"" + field + "\" is a " + kind(in.peek()) + ", not a string",
                    "write it in double quotes");
        }
        return in.nextString();
    }

    private static List<Integer> ints(final JsonReader in, final String field) throws IOException {
        if (in.peek() != JsonToken.BEGIN_ARRAY) {
            throw error(in, "field \"" + field + "\" is a " + kind(in.peek()) + ", not an array of integers",
                    "write it as [101, 2023, 102]");
        }
        final List<Integer> values = new ArrayList<>();
        in.beginArray();
        while (in.hasNext()) {
            if (in.peek() != JsonToken.NUMBER) {
                throw error(in, "an element of \"" + field + "\" is a " + kind(in.peek()) + ", not an integer",
                        "write integers only");
            }
            final String n = in.nextString();
            try {
                values.add(Integer.parseInt(n));
            } catch (NumberFormatException e) {
                throw error(in, "element " + values.size() + " of \"" + field + "\" is " + n + ", not a 32-bit integer",
                        "write whole numbers between -2147483648 and 2147483647");
            }
        }
        in.endArray();
        return values;
    }

    private static Instant instant(final JsonReader in) throws IOException {
        if (in.peek() == JsonToken.NUMBER) {
            final String n = in.nextString();
            try {
                return Instant.ofEpochMilli(Long.parseLong(n));
            } catch (NumberFormatException e) {
                throw error(in, "field \"created_at\" is " + n + ", not whole milliseconds",
                        "write milliseconds since the Unix epoch, or an ISO-8601 instant in quotes");
            }
        }
        if (in.peek() == JsonToken.STRING) {
            final String s = in.nextString();
            try {
                return Instant.parse(s);
            } catch (DateTimeParseException e) {
                throw error(in, "field \"created_at\" is \"" + s + "\", not an ISO-8601 instant",
                        "write it as \"2026-12-06T15:00:00Z\" or as milliseconds since the Unix epoch");
            }
        }
        throw error(in, "field \"created_at\" is a " + kind(in.peek()) + ", not a time",
                "write milliseconds since the Unix epoch, or an ISO-8601 instant in quotes");
    }

    private static Map<String, String> metadata(final JsonReader in) throws IOException {
        if (in.peek() != JsonToken.BEGIN_OBJECT) {
            throw error(in, "field \"metadata\" is a " + kind(in.peek()) + ", not an object",
                    "write it as {\"source\": \"web\"}");
        }
        final Map<String, String> m = new LinkedHashMap<>();
        in.beginObject();
        while (in.hasNext()) {
            final String key = in.nextName();
            if (in.peek() != JsonToken.STRING) {
                throw error(in, "metadata \"" + key + "\" is a " + kind(in.peek()) + ", not a string",
                        "metadata values are strings: write it in double quotes");
            }
            m.put(key, in.nextString());
        }
        in.endObject();
        return m;
    }

    private static SerializationException error(final JsonReader in, final String what, final String fix) {
        final Matcher at = POSITION.matcher(in.toString());
        final String where = at.find() ? " at " + in.getPath() + " (line " + at.group(1) + ", column " + at.group(2) + ")"
                : " at " + in.getPath();
        return new SerializationException("JSON request: " + what + where + ": " + fix);
    }

    private static String kind(final JsonToken token) {
        return switch (token) {
            case BEGIN_ARRAY -> "array";
            case BEGIN_OBJECT -> "object";
            case STRING -> "string";
            case NUMBER -> "number";
            case BOOLEAN -> "boolean";
            case NULL -> "null";
            default -> token.name().toLowerCase(java.util.Locale.ROOT);
        };
    }
}
