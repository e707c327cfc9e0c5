/** An application of its own that embeds the inference step in its topology (a filter before, a join after). */
package dev.streamformer.examples;
