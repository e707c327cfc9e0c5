package dev.streamformer.stream;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;

import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

import dev.streamformer.schemas.DeadLetter;
import dev.streamformer.schemas.ErrorKind;

/** Builds dead-letter records that keep the original bytes and say what went wrong. */
final class DeadLetters {

    private DeadLetters() {
    }

    /**
     * @param topic source topic
     * @param partition source partition
     * @param offset source offset
     * @param requestId the request id if known, else null (the key is tried as UTF-8)
     * @param key raw key bytes, may be null
     * @param value raw value bytes, may be null
     * @param kind what failed
     * @param message why, and the fix
     * @return the dead letter
     */
    static DeadLetter of(final String topic, final int partition, final long offset, final String requestId,
            final byte[] key, final byte[] value, final ErrorKind kind, final String message) {
        return DeadLetter.newBuilder()
                .setSourceTopic(topic)
                .setSourcePartition(partition)
                .setSourceOffset(offset)
                .setRequestId(requestId != null ? requestId : utf8OrNull(key))
                .setKey(key == null ? null : ByteBuffer.wrap(key))
                .setValue(value == null ? null : ByteBuffer.wrap(value))
                .setErrorKind(kind)
                .setErrorMessage(message == null ? kind.name() : message)
                .setFailedAt(Instant.now())
                .build();
    }

    /** Kafka Streams' dead-letter header names (KIP-1034). */
    static final String EXCEPTION = "__streams.errors.exception";
    static final String MESSAGE = "__streams.errors.message";
    static final String STACKTRACE = "__streams.errors.stacktrace";
    static final String TOPIC = "__streams.errors.topic";
    static final String PARTITION = "__streams.errors.partition";
    static final String OFFSET = "__streams.errors.offset";

    /**
     * The headers of a dead letter: the failed record's own, then Kafka Streams' dead-letter headers
     * (KIP-1034) as its own handlers write them: the exception ({@code toString()}), the message, the
     * stack trace, and the source topic, partition and offset, all as UTF-8 strings.
     *
     * @param original the failed record's headers
     * @param topic source topic
     * @param partition source partition
     * @param offset source offset
     * @param cause what failed
     * @param message the dead letter's message
     * @return the headers
     */
    static Headers headers(final Headers original, final String topic, final int partition, final long offset,
            final Throwable cause, final String message) {
        final Headers out = new RecordHeaders(original == null ? new Header[0] : original.toArray());
        final StringWriter trace = new StringWriter();
        cause.printStackTrace(new PrintWriter(trace));
        out.add(EXCEPTION, utf8(cause.toString()));
        out.add(MESSAGE, utf8(message));
        out.add(STACKTRACE, utf8(trace.toString()));
        out.add(TOPIC, utf8(topic));
        out.add(PARTITION, utf8(Integer.toString(partition)));
        out.add(OFFSET, utf8(Long.toString(offset)));
        return out;
    }

    private static byte[] utf8(final String s) {
        return (s == null ? "" : s).getBytes(StandardCharsets.UTF_8);
    }

    private static String utf8OrNull(final byte[] bytes) {
        if (bytes == null) {
            return null;
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }
}
