package dev.streamformer.engine.onnx.internals;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.google.protobuf.CodedInputStream;

import dev.streamformer.model.ParameterStats;
import dev.streamformer.engine.onnx.internals.proto.Onnx.GraphProto;
import dev.streamformer.engine.onnx.internals.proto.Onnx.ModelProto;
import dev.streamformer.engine.onnx.internals.proto.Onnx.NodeProto;
import dev.streamformer.engine.onnx.internals.proto.Onnx.TensorProto;

/**
 * What can be read from an ONNX file without running it: its initializers (the weights), their
 * dtypes and sizes, how many nodes use each, and the operators.
 *
 * @param initializers every initializer of the main graph
 * @param opCounts nodes per operator type, main graph
 */
public record OnnxModelFile(List<Initializer> initializers, Map<String, Integer> opCounts) {


    /** Files may hold weights up to protobuf's 2 GB limit. */
    private static final int MAX_SIZE = Integer.MAX_VALUE;

    /**
     * One initializer.
     *
     * @param name its name
     * @param dtype the ONNX element type name (FLOAT, INT8, ...)
     * @param elements the number of values
     * @param bytes the stored bytes
     * @param users the nodes that take it as an input
     * @param rank the number of dimensions
     */
    public record Initializer(String name, String dtype, long elements, long bytes, int users, int rank) {

        /** @return whether it holds weights: a float or 8-bit tensor of rank 1 or more (not a scalar or an index) */
        public boolean isWeight() {
            return rank > 0 && !dtype.startsWith("INT64") && !dtype.startsWith("INT32") && !"BOOL".equals(dtype);
        }
    }

    /**
     * Reads an ONNX file.
     *
     * @param file the file
     * @return what it holds
     * @throws IOException when it cannot be read or is not an ONNX model
     */
    public static OnnxModelFile read(final Path file) throws IOException {
        final ModelProto model;
        try (InputStream in = Files.newInputStream(file)) {
            final CodedInputStream coded = CodedInputStream.newInstance(in);
            coded.setSizeLimit(MAX_SIZE);
            model = ModelProto.parseFrom(coded);
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new IOException(file + " is not an ONNX model: " + e.getMessage(), e);
        }
        if (!model.hasGraph()) {
            throw new IOException(file + " is not an ONNX model: it has no graph");
        }
        return of(model);
    }

    /**
     * Describes a model in memory.
     *
     * @param model the model
     * @return what it holds
     */
    public static OnnxModelFile of(final ModelProto model) {
        final GraphProto graph = model.getGraph();
        final Map<String, Integer> users = new HashMap<>();
        final Map<String, Integer> ops = new LinkedHashMap<>();
        for (final NodeProto n : graph.getNodeList()) {
            ops.merge((n.getDomain().isEmpty() ? "" : n.getDomain() + ".") + n.getOpType(), 1, Integer::sum);
            n.getInputList().stream().distinct().forEach(i -> users.merge(i, 1, Integer::sum));
        }
        final List<Initializer> inits = new ArrayList<>();
        for (final TensorProto t : graph.getInitializerList()) {
            long elements = 1;
            for (final long d : t.getDimsList()) {
                elements *= d;
            }
            final TensorProto.DataType type = TensorProto.DataType.forNumber(t.getDataType());
            final String dtype = type == null ? "TYPE_" + t.getDataType() : type.name();
            inits.add(new Initializer(t.getName(), dtype, elements, elements * bytesPerElement(type),
                    users.getOrDefault(t.getName(), 0), t.getDimsCount()));
        }
        return new OnnxModelFile(List.copyOf(inits), Map.copyOf(ops));
    }

    private static int bytesPerElement(final TensorProto.DataType type) {
        if (type == null) {
            return 4;
        }
        return switch (type) {
            case INT8, UINT8, BOOL -> 1;
            case INT16, UINT16, FLOAT16, BFLOAT16 -> 2;
            case INT64, UINT64, DOUBLE, COMPLEX64 -> 8;
            case COMPLEX128 -> 16;
            default -> 4;
        };
    }

    /**
     * Parameter statistics from the initializers: unique parameters are the values stored, logical
     * parameters count a tensor once per node that uses it (what a graph with no shared
     * initializer would hold), and the breakdown lists every initializer used by more than one
     * node. Scalars and integer index or shape constants are left out.
     *
     * @return the statistics
     */
    public ParameterStats stats() {
        long unique = 0;
        long logical = 0;
        final Map<String, Long> bytes = new LinkedHashMap<>();
        final List<ParameterStats.Component> shared = new ArrayList<>();
        long unshared = 0;
        for (final Initializer i : initializers) {
            if (!i.isWeight()) {
                continue;
            }
            unique += i.elements();
            logical += i.elements() * Math.max(1, i.users());
            bytes.merge(safetensorsName(i.dtype()), i.bytes(), Long::sum);
            if (i.users() > 1) {
                shared.add(new ParameterStats.Component(i.name() + " (" + i.users() + " nodes)", i.elements(), List.of()));
            } else {
                unshared += i.elements();
            }
        }
        final List<ParameterStats.Component> components = new ArrayList<>(shared);
        components.add(new ParameterStats.Component("initializers used by one node", unshared, List.of()));
        return new ParameterStats("ONNX graph, " + shared.size() + " initializers used by more than one node", "-", "-",
                logical, unique, unique == 0 ? 1 : (double) logical / unique, bytes, components);
    }

    private static String safetensorsName(final String onnx) {
        return switch (onnx) {
            case "FLOAT" -> "F32";
            case "FLOAT16" -> "F16";
            case "BFLOAT16" -> "BF16";
            case "DOUBLE" -> "F64";
            case "INT8" -> "I8";
            case "UINT8" -> "U8";
            case "INT32" -> "I32";
            case "INT64" -> "I64";
            default -> onnx;
        };
    }
}
