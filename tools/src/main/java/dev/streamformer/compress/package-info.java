/** Making a model compact: cross-layer sharing of a trained model, head pruning, int8 quantization. */
package dev.streamformer.compress;
