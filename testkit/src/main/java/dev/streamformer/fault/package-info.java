/** The fault-injection suite: SIGKILLed processors, a restarted broker, an outage, scale-out, reconciled exactly once. */
package dev.streamformer.fault;
