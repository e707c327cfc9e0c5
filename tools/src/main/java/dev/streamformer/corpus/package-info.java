/** The corpus: fetching SpamAssassin, reading mail into text, the bundled demo sample, WordPiece vocabulary training. */
package dev.streamformer.corpus;
