/**
 * The PyTorch engine, on DJL: {@link dev.streamformer.engine.pytorch.SharedEncoder}, the encoder that
 * trains (autograd) and is the numeric reference of the ONNX Runtime graph, and
 * {@link dev.streamformer.engine.pytorch.PyTorchEngine}, which serves it as
 * {@code streamformer.engine=pytorch} when this artifact is on the class path.
 */
package dev.streamformer.engine.pytorch;
