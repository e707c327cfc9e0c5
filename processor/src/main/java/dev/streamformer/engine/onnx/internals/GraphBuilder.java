package dev.streamformer.engine.onnx.internals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import com.google.protobuf.ByteString;

import dev.streamformer.engine.onnx.internals.proto.Onnx.AttributeProto;
import dev.streamformer.engine.onnx.internals.proto.Onnx.GraphProto;
import dev.streamformer.engine.onnx.internals.proto.Onnx.ModelProto;
import dev.streamformer.engine.onnx.internals.proto.Onnx.NodeProto;
import dev.streamformer.engine.onnx.internals.proto.Onnx.OperatorSetIdProto;
import dev.streamformer.engine.onnx.internals.proto.Onnx.StringStringEntryProto;
import dev.streamformer.engine.onnx.internals.proto.Onnx.TensorProto;
import dev.streamformer.engine.onnx.internals.proto.Onnx.TensorShapeProto;
import dev.streamformer.engine.onnx.internals.proto.Onnx.TypeProto;
import dev.streamformer.engine.onnx.internals.proto.Onnx.ValueInfoProto;

/**
 * Writes an ONNX graph node by node: every method adds what it names and returns the name of its
 * output, so a graph reads like the forward pass it computes. Names are unique within the graph.
 */
final class GraphBuilder {

    /** ONNX IR version of the files written (ONNX 1.13 and later, read by every recent runtime). */
    static final long IR_VERSION = 8;
    /** The ai.onnx operator set: 17 is the first with LayerNormalization. */
    static final long OPSET = 17;
    /** Domain of ONNX Runtime's contrib operators (int8 matrix products). */
    static final String MICROSOFT = "com.microsoft";

    private final GraphProto.Builder graph = GraphProto.newBuilder();
    private final Set<String> names = new HashSet<>();
    private boolean usesMicrosoft;
    private int counter;

    GraphBuilder(final String name) {
        graph.setName(name);
    }

    /** Adds a graph input of int64 [batch, sequence]. */
    String tokenInput(final String name) {
        graph.addInput(valueInfo(name, TensorProto.DataType.INT64, "batch", "sequence"));
        names.add(name);
        return name;
    }

    /** Adds a float graph input of fixed shape. */
    String floatInput(final String name, final long... dims) {
        final TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (final long d : dims) {
            shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        graph.addInput(ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE)
                        .setShape(shape))));
        claim(name);
        return name;
    }

    /**
     * Adds a float graph input whose dimensions are named (a String: "batch", "sequence") or fixed (a Long).
     *
     * @param name the input
     * @param dims the dimensions
     * @return the input's name
     */
    String floatTensorInput(final String name, final Object... dims) {
        graph.addInput(floatTensor(name, dims));
        claim(name);
        return name;
    }

    /**
     * Declares a float graph output whose dimensions are named or fixed, as {@link #floatTensorInput}.
     *
     * @param name the output (a node's output, renamed with {@link #renameLast})
     * @param dims the dimensions
     */
    void floatTensorOutput(final String name, final Object... dims) {
        graph.addOutput(floatTensor(name, dims));
    }

    private static ValueInfoProto floatTensor(final String name, final Object... dims) {
        final TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (final Object d : dims) {
            shape.addDim(d instanceof String param ? TensorShapeProto.Dimension.newBuilder().setDimParam(param)
                    : TensorShapeProto.Dimension.newBuilder().setDimValue(((Number) d).longValue()));
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE)
                        .setShape(shape))).build();
    }

    /** Declares a float graph output [batch, width]. */
    void floatOutput(final String name, final long width) {
        graph.addOutput(ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder()
                        .setElemType(TensorProto.DataType.FLOAT_VALUE)
                        .setShape(TensorShapeProto.newBuilder()
                                .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam("batch"))
                                .addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(width))))));
    }

    /** Adds a float initializer from little-endian bytes. */
    String floats(final String name, final long[] shape, final ByteBuffer littleEndian) {
        return initializer(name, TensorProto.DataType.FLOAT, shape, littleEndian);
    }

    /** Adds an int8 initializer. */
    String int8(final String name, final long[] shape, final ByteBuffer bytes) {
        return initializer(name, TensorProto.DataType.INT8, shape, bytes);
    }

    /** Adds a float initializer from values. */
    String floats(final String name, final long[] shape, final float[] values) {
        final ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return floats(name, shape, b);
    }

    /** A float scalar constant. */
    String scalar(final float value) {
        return floats(fresh("const"), new long[0], new float[] {value});
    }

    /** An int64 vector constant. */
    String longs(final long... values) {
        final ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.asLongBuffer().put(values);
        return initializer(fresh("const"), TensorProto.DataType.INT64, new long[] {values.length}, b);
    }

    /** An int64 scalar constant (a Gather index that drops its axis). */
    String longScalar(final long value) {
        final ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, value);
        return initializer(fresh("const"), TensorProto.DataType.INT64, new long[0], b);
    }

    private String initializer(final String name, final TensorProto.DataType type, final long[] shape,
            final ByteBuffer data) {
        claim(name);
        final TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(type.getNumber())
                .setRawData(ByteString.copyFrom(data.duplicate()));
        for (final long d : shape) {
            t.addDims(d);
        }
        graph.addInitializer(t);
        return name;
    }

    /**
     * Adds a node of the ai.onnx domain with one output.
     *
     * @param op the operator
     * @param inputs its inputs ("" for an omitted optional input)
     * @param attributes its attributes
     * @return the output's name
     */
    String op(final String op, final List<String> inputs, final AttributeProto... attributes) {
        return node("", op, inputs, attributes);
    }

    /** Adds a node of ONNX Runtime's com.microsoft domain with one output. */
    String microsoft(final String op, final List<String> inputs, final AttributeProto... attributes) {
        usesMicrosoft = true;
        return node(MICROSOFT, op, inputs, attributes);
    }

    private String node(final String domain, final String op, final List<String> inputs,
            final AttributeProto... attributes) {
        final String output = fresh(op);
        claim(output);
        final NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).setName(output).setDomain(domain)
                .addAllInput(inputs).addOutput(output);
        for (final AttributeProto a : attributes) {
            n.addAttribute(a);
        }
        graph.addNode(n);
        return output;
    }

    /** Renames the output of the last node, for graph outputs. */
    String renameLast(final String name) {
        claim(name);
        final int last = graph.getNodeCount() - 1;
        graph.setNode(last, graph.getNode(last).toBuilder().setOutput(0, name));
        return name;
    }

    static AttributeProto attr(final String name, final long value) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(value).build();
    }

    static AttributeProto attr(final String name, final float value) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOAT).setF(value)
                .build();
    }

    static AttributeProto attr(final String name, final long... values) {
        final AttributeProto.Builder a = AttributeProto.newBuilder().setName(name)
                .setType(AttributeProto.AttributeType.INTS);
        for (final long v : values) {
            a.addInts(v);
        }
        return a.build();
    }

    /**
     * The whole model.
     *
     * @param producer the producer name recorded in the file
     * @param docString what the graph computes
     * @param metadata key/value metadata (model name, plan)
     * @return the model
     */
    ModelProto build(final String producer, final String docString, final List<String[]> metadata) {
        final ModelProto.Builder m = ModelProto.newBuilder()
                .setIrVersion(IR_VERSION)
                .setProducerName(producer)
                .setDocString(docString)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET))
                .setGraph(graph);
        if (usesMicrosoft) {
            m.addOpsetImport(OperatorSetIdProto.newBuilder().setDomain(MICROSOFT).setVersion(1));
        }
        for (final String[] kv : metadata) {
            m.addMetadataProps(StringStringEntryProto.newBuilder().setKey(kv[0]).setValue(kv[1]));
        }
        return m.build();
    }

    private String fresh(final String stem) {
        String name;
        do {
            name = stem + "_" + counter++;
        } while (names.contains(name));
        return name;
    }

    private void claim(final String name) {
        if (!names.add(name)) {
            throw new IllegalStateException("Duplicate graph name " + name);
        }
    }

    private static ValueInfoProto valueInfo(final String name, final TensorProto.DataType type, final String... dims) {
        final TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (final String d : dims) {
            shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimParam(d));
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(type.getNumber()).setShape(shape))).build();
    }
}
