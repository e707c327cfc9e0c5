package dev.streamformer.schemas.wire;

/**
 * The schema registry did not answer, or answered with an error that is not about the record (a
 * server error, refused credentials, a time-out). Not the record's fault: the caller retries.
 */
public final class RegistryUnavailableException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /**
     * @param message what failed, naming the registry (without credentials)
     * @param cause the underlying failure, or null
     */
    public RegistryUnavailableException(final String message, final Throwable cause) {
        super(message, cause);
    }
}
