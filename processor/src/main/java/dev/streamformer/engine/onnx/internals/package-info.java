/**
 * ONNX: the encoder graph built in Java from a checkpoint (every shared tensor one initializer), ONNX
 * files read back for their statistics, and the ONNX Runtime session that serves them. The protobuf
 * classes in {@code dev.streamformer.engine.onnx.internals.proto} are generated at build time from
 * {@code src/main/proto/onnx.proto}. Not API: the tools and the command line use it, and it changes
 * with them.
 */
package dev.streamformer.engine.onnx.internals;
