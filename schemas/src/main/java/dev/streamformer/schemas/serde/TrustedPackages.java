package dev.streamformer.schemas.serde;

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
        final ClassSecurityValidator.ClassSecurityPredicate ours = ClassSecurityValidator.builder()
                .add("dev.streamformer.schemas.TokenizedInput")
                .add("dev.streamformer.schemas.Prediction")
                .add("dev.streamformer.schemas.LatencyEvent")
                .add("dev.streamformer.schemas.DeadLetter")
                .add("dev.streamformer.schemas.ErrorKind")
                .add("dev.streamformer.schemas.LatencyStats")
                .add("dev.streamformer.schemas.DurationStats")
                .add("dev.streamformer.schemas.ModelRelease")
                .add("dev.streamformer.schemas.ModelArtifact")
                .add("dev.streamformer.schemas.ModelStatus")
                .add("dev.streamformer.schemas.ServedModel")
                .add("dev.streamformer.schemas.RefusedRelease")
                .build();
        ClassSecurityValidator.setGlobal(ClassSecurityValidator.composite(ClassSecurityValidator.getGlobal(), ours));
        done = true;
    }
}
