/** The model's tokenizer: loading the Hugging Face tokenizer of a model directory, and writing one from a vocabulary. */
package dev.streamformer.text;
