package dev.streamformer.model;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;

/**
 * Reads and writes the safetensors format: an 8-byte little-endian header length, a JSON header
 * mapping each tensor name to its dtype, shape and byte range, then the raw little-endian data.
 * Written headers are padded with spaces to a multiple of 8 bytes, tensors are sorted by name,
 * and an optional {@code __metadata__} map of strings is kept.
 */
public final class SafeTensors {

    private static final String METADATA = "__metadata__";
    private static final long MAX_HEADER = 100L * 1024 * 1024;

    /** The element types of the format. */
    public enum DType {
        F64(8), F32(4), F16(2), BF16(2), I64(8), I32(4), I16(2), I8(1), U8(1), BOOL(1);

        private final int bytes;

        DType(final int bytes) {
            this.bytes = bytes;
        }

        /** @return bytes per element */
        public int bytes() {
            return bytes;
        }
    }

    /**
     * One tensor: its bytes are little-endian, row-major.
     *
     * @param dtype the element type
     * @param shape the dimensions
     * @param data the bytes, positioned at 0, little-endian
     */
    public record Tensor(DType dtype, long[] shape, ByteBuffer data) {

        /** @return the number of elements */
        public long elements() {
            long n = 1;
            for (final long d : shape) {
                n *= d;
            }
            return n;
        }

        /**
         * Creates an F32 tensor.
         *
         * @param shape the dimensions
         * @param values the values, row-major
         * @return the tensor
         */
        public static Tensor ofFloats(final long[] shape, final float[] values) {
            final ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            b.asFloatBuffer().put(values);
            return new Tensor(DType.F32, shape.clone(), b);
        }

        /**
         * Creates an I8 tensor.
         *
         * @param shape the dimensions
         * @param values the values, row-major
         * @return the tensor
         */
        public static Tensor ofBytes(final long[] shape, final byte[] values) {
            return new Tensor(DType.I8, shape.clone(), ByteBuffer.wrap(values).order(ByteOrder.LITTLE_ENDIAN));
        }

        /**
         * Widens the values to float: F64, F32, F16, BF16 and the integer types.
         *
         * @return the values, row-major
         */
        public float[] toFloats() {
            final int n = Math.toIntExact(elements());
            final ByteBuffer b = data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
            final float[] out = new float[n];
            switch (dtype) {
                case F32 -> b.asFloatBuffer().get(out);
                case F64 -> {
                    for (int i = 0; i < n; i++) {
                        out[i] = (float) b.getDouble(i * 8);
                    }
                }
                case F16 -> {
                    for (int i = 0; i < n; i++) {
                        out[i] = halfToFloat(b.getShort(i * 2));
                    }
                }
                case BF16 -> {
                    for (int i = 0; i < n; i++) {
                        out[i] = Float.intBitsToFloat((b.getShort(i * 2) & 0xFFFF) << 16);
                    }
                }
                case I64 -> {
                    for (int i = 0; i < n; i++) {
                        out[i] = b.getLong(i * 8);
                    }
                }
                case I32 -> {
                    for (int i = 0; i < n; i++) {
                        out[i] = b.getInt(i * 4);
                    }
                }
                case I16 -> {
                    for (int i = 0; i < n; i++) {
                        out[i] = b.getShort(i * 2);
                    }
                }
                case I8 -> {
                    for (int i = 0; i < n; i++) {
                        out[i] = b.get(i);
                    }
                }
                case U8, BOOL -> {
                    for (int i = 0; i < n; i++) {
                        out[i] = b.get(i) & 0xFF;
                    }
                }
                default -> throw new IllegalStateException("unreachable: " + dtype);
            }
            return out;
        }
    }

    /**
     * Converts an IEEE 754 half-precision value to float.
     *
     * @param half the 16 bits
     * @return the value
     */
    static float halfToFloat(final short half) {
        final int h = half & 0xFFFF;
        final int sign = (h & 0x8000) << 16;
        final int exponent = (h >>> 10) & 0x1F;
        final int mantissa = h & 0x3FF;
        if (exponent == 0x1F) {
            return Float.intBitsToFloat(sign | 0x7F800000 | (mantissa << 13));
        }
        if (exponent == 0) {
            final float value = mantissa * 0x1p-24f;
            return sign == 0 ? value : -value;
        }
        return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
    }

    /**
     * The contents of a safetensors file.
     *
     * @param tensors the tensors by name, in file order
     * @param metadata the {@code __metadata__} strings (empty when absent)
     */
    public record Contents(Map<String, Tensor> tensors, Map<String, String> metadata) {
    }

    private SafeTensors() {
    }

    /**
     * Reads a whole file. The data are memory-mapped, not copied.
     *
     * @param file the file
     * @return its tensors and metadata
     * @throws IOException when the file cannot be read or is not valid safetensors
     */
    public static Contents read(final Path file) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            final long size = channel.size();
            if (size < 8) {
                throw new IOException(file + " is not a safetensors file: only " + size + " bytes");
            }
            final ByteBuffer all = channel.map(FileChannel.MapMode.READ_ONLY, 0, size).order(ByteOrder.LITTLE_ENDIAN);
            final long headerLength = all.getLong(0);
            if (headerLength <= 0 || headerLength > MAX_HEADER) {
                throw new IOException(file + " is not a safetensors file: header length " + headerLength
                        + " does not fit a file of " + size + " bytes");
            }
            if (8 + headerLength > size) {
                throw new IOException(file + " is truncated: it holds " + size + " bytes, fewer than its own "
                        + (8 + headerLength) + "-byte header; copy or download it again");
            }
            final byte[] header = new byte[(int) headerLength];
            all.get(8, header);
            final long dataStart = 8 + headerLength;
            return parse(file, new String(header, StandardCharsets.UTF_8), all, dataStart, size - dataStart);
        }
    }

    private static Contents parse(final Path file, final String headerJson, final ByteBuffer all,
            final long dataStart, final long dataLength) throws IOException {
        final JsonObject header;
        try {
            header = JsonParser.parseString(headerJson).getAsJsonObject();
        } catch (JsonParseException | IllegalStateException e) {
            throw new IOException(file + ": safetensors header is not a JSON object: " + e.getMessage(), e);
        }
        final Map<String, Tensor> tensors = new LinkedHashMap<>();
        final Map<String, String> metadata = new LinkedHashMap<>();
        long described = 0;
        for (final Map.Entry<String, JsonElement> e : header.entrySet()) {
            if (!METADATA.equals(e.getKey()) && e.getValue().isJsonObject()
                    && e.getValue().getAsJsonObject().has("data_offsets")) {
                described = Math.max(described, e.getValue().getAsJsonObject().getAsJsonArray("data_offsets").get(1)
                        .getAsLong());
            }
        }
        if (described > dataLength) {
            throw new IOException(file + " is truncated: its header describes " + described + " bytes of tensors, the"
                    + " file holds " + dataLength + " (" + (described - dataLength) + " missing); copy or download it"
                    + " again");
        }
        for (final Map.Entry<String, JsonElement> e : header.entrySet()) {
            if (METADATA.equals(e.getKey())) {
                for (final Map.Entry<String, JsonElement> m : e.getValue().getAsJsonObject().entrySet()) {
                    metadata.put(m.getKey(), m.getValue().getAsString());
                }
                continue;
            }
            final String name = e.getKey();
            final JsonObject info = e.getValue().getAsJsonObject();
            final DType dtype;
            try {
                dtype = DType.valueOf(info.get("dtype").getAsString());
            } catch (IllegalArgumentException ex) {
                throw new IOException(file + ": tensor " + name + " has unsupported dtype "
                        + info.get("dtype") + "; supported: " + Arrays.toString(DType.values()), ex);
            }
            final JsonArray shapeJson = info.getAsJsonArray("shape");
            final long[] shape = new long[shapeJson.size()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = shapeJson.get(i).getAsLong();
            }
            final JsonArray offsets = info.getAsJsonArray("data_offsets");
            final long begin = offsets.get(0).getAsLong();
            final long end = offsets.get(1).getAsLong();
            long elements = 1;
            for (final long d : shape) {
                elements *= d;
            }
            if (begin < 0 || end < begin || end > dataLength || end - begin != elements * dtype.bytes()) {
                throw new IOException(file + ": tensor " + name + " has byte range [" + begin + ", " + end
                        + ") that does not match its shape " + Arrays.toString(shape) + " of " + dtype
                        + " within " + dataLength + " data bytes");
            }
            final ByteBuffer slice = all.slice((int) (dataStart + begin), (int) (end - begin))
                    .order(ByteOrder.LITTLE_ENDIAN);
            tensors.put(name, new Tensor(dtype, shape, slice));
        }
        return new Contents(tensors, metadata);
    }

    /**
     * Writes tensors sorted by name, with the header padded to a multiple of 8 bytes.
     *
     * @param file the destination, replaced if present
     * @param tensors the tensors by name
     * @param metadata string metadata, may be empty
     * @throws IOException when the file cannot be written
     */
    public static void write(final Path file, final Map<String, Tensor> tensors, final Map<String, String> metadata)
            throws IOException {
        final Map<String, Tensor> sorted = new TreeMap<>(tensors);
        final JsonObject header = new JsonObject();
        if (!metadata.isEmpty()) {
            final JsonObject meta = new JsonObject();
            metadata.forEach(meta::addProperty);
            header.add(METADATA, meta);
        }
        long offset = 0;
        for (final Map.Entry<String, Tensor> e : sorted.entrySet()) {
            final Tensor t = e.getValue();
            final long length = t.elements() * t.dtype().bytes();
            if (t.data().remaining() != length) {
                throw new IllegalArgumentException("Tensor " + e.getKey() + " holds " + t.data().remaining()
                        + " bytes but its shape " + Arrays.toString(t.shape()) + " of " + t.dtype() + " needs " + length);
            }
            final JsonObject info = new JsonObject();
            info.addProperty("dtype", t.dtype().name());
            final JsonArray shape = new JsonArray();
            for (final long d : t.shape()) {
                shape.add(d);
            }
            info.add("shape", shape);
            final JsonArray offsets = new JsonArray();
            offsets.add(offset);
            offsets.add(offset + length);
            info.add("data_offsets", offsets);
            header.add(e.getKey(), info);
            offset += length;
        }
        final StringBuilder json = new StringBuilder(header.toString());
        while (json.toString().getBytes(StandardCharsets.UTF_8).length % 8 != 0) {
            json.append(' ');
        }
        final byte[] headerBytes = json.toString().getBytes(StandardCharsets.UTF_8);
        final Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (OutputStream out = Files.newOutputStream(tmp)) {
            final ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            length.putLong(headerBytes.length);
            out.write(length.array());
            out.write(headerBytes);
            final byte[] chunk = new byte[1 << 16];
            for (final Tensor t : sorted.values()) {
                final ByteBuffer b = t.data().duplicate();
                while (b.hasRemaining()) {
                    final int n = Math.min(chunk.length, b.remaining());
                    b.get(chunk, 0, n);
                    out.write(chunk, 0, n);
                }
            }
        }
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }
}
