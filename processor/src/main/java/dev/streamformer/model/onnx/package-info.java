/**
 * ONNX: the encoder graph built in Java from a checkpoint (every shared tensor one initializer), ONNX
 * files read back for their statistics, and the ONNX Runtime session that serves them. The protobuf
 * classes in {@code dev.streamformer.model.onnx.proto} are generated at build time from
 * {@code src/main/proto/onnx.proto}.
 */
package dev.streamformer.model.onnx;
