/** The {@code streamformer} command line (picocli): options and output only; the work is in the other modules. */
package dev.streamformer.cli;
