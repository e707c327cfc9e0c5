/** Training and fine-tuning on the PyTorch engine (AdamW, schedules, evaluation) and the trade-off table. */
package dev.streamformer.train;
