/**
 * ONNX Runtime as an engine of {@link dev.streamformer.model.InferenceModel}, the serving default:
 * {@link dev.streamformer.engine.onnx.OnnxEngine}, registered through {@link java.util.ServiceLoader}.
 * How it builds and runs its graphs is in {@code internals}, which is not API.
 */
package dev.streamformer.engine.onnx;
