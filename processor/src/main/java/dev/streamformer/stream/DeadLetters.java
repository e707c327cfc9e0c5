package dev.streamformer.stream;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;

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
