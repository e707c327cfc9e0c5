/** Helpers the modules share that are not part of the public API. */
package dev.streamformer.schemas.internals;
