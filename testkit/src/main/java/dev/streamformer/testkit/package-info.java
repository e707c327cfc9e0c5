/** The harness: an in-process KRaft broker (plain, SASL, TLS) and {@code streamformer} commands in child JVMs. */
package dev.streamformer.testkit;
