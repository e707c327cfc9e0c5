/** Java clients of the processor's topics: producing requests, waiting for their predictions, committed reads. */
package dev.streamformer.client;
