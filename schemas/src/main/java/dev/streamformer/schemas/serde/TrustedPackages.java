package dev.streamformer.schemas.serde;

import java.util.Set;
import java.util.TreeSet;

import org.apache.avro.Schema;
import org.apache.avro.util.ClassSecurityValidator;

/**
 * Avro 1.12 refuses to instantiate generated classes from packages it does not trust
 * ({@code SecurityException: Forbidden}). This adds the contract package to the trusted set once,
 * so applications need no {@code -Dorg.apache.avro.SERIALIZABLE_PACKAGES} flag.
 */
final class TrustedPackages {

    private static boolean done;

    private TrustedPackages() {
    }

    static synchronized void trustSchemasPackage() {
        if (done) {
            return;
        }
        final ClassSecurityValidator.Builder ours = ClassSecurityValidator.builder();
        final Set<String> names = new TreeSet<>();
        StreamformerSerdes.schemas().values().forEach(schema -> collect(schema, names));
        names.forEach(ours::add);
        ClassSecurityValidator.setGlobal(ClassSecurityValidator.composite(ClassSecurityValidator.getGlobal(), ours.build()));
        done = true;
    }

    /**
     * Every generated class a schema of the contract reads into: its records and enums, nested ones
     * included, so that a new schema is trusted as soon as {@link StreamformerSerdes#schemas()} lists it.
     */
    private static void collect(final Schema schema, final Set<String> names) {
        switch (schema.getType()) {
            case RECORD -> {
                if (names.add(schema.getFullName())) {
                    schema.getFields().forEach(f -> collect(f.schema(), names));
                }
            }
            case ENUM -> names.add(schema.getFullName());
            case ARRAY -> collect(schema.getElementType(), names);
            case MAP -> collect(schema.getValueType(), names);
            case UNION -> schema.getTypes().forEach(t -> collect(t, names));
            default -> {
            }
        }
    }
}
