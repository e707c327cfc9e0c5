package dev.streamformer.cli;

import java.util.Map;
import java.util.concurrent.Callable;

import org.apache.avro.Schema;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import dev.streamformer.schemas.serde.Fingerprints;
import dev.streamformer.schemas.serde.StreamformerSerdes;

/** Prints every schema's single-object fingerprint and parsing canonical form. */
@Command(name = "schemas", mixinStandardHelpOptions = true,
        description = {"Prints, for every schema of the four topics (and the request schema's earlier version the"
                + " processor still reads), the fingerprint that Avro single-object encoding puts after C3 01 (hex of"
                + " the 8 little-endian bytes of CRC-64-AVRO) and the parsing canonical form it is computed from.",
                "A producer in another language must write exactly this fingerprint; Apache Avro's Python library"
                + " 1.11-1.12 computes a different one for schemas with a timestamp-millis field (README, Python)."})
final class SchemasCommand implements Callable<Integer> {

    @Option(names = "--no-canonical", description = "Print the fingerprints only.")
    private boolean fingerprintsOnly;

    @Override
    public Integer call() {
        for (final Map.Entry<String, Schema> e : StreamformerSerdes.schemas().entrySet()) {
            System.out.printf("%-26s %s%n", e.getKey(), Fingerprints.hex(Fingerprints.of(e.getValue())));
            if (!fingerprintsOnly) {
                System.out.println("  " + Fingerprints.canonicalForm(e.getValue()));
            }
        }
        return 0;
    }
}
