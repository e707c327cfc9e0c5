/**
 * The shared-parameter Transformer and its engines: the model directory ({@link
 * dev.streamformer.model.ModelDirectory}), its config and sharing plans, checkpoints in safetensors,
 * parameter statistics, and {@link dev.streamformer.model.InferenceModel}, which validates inputs
 * and runs them on ONNX Runtime (the default) or on the DJL/PyTorch encoder that trains and is the
 * numeric reference.
 */
package dev.streamformer.model;
