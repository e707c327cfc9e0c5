/** The one-command demo: broker, topics, shipped model, sample requests, processor, accuracy and latency. */
package dev.streamformer.demo;
