package dev.streamformer.model;

/**
 * An input the model cannot run: empty, too long, an id out of range, or a mask or segment list
 * whose length differs from the ids. The message says which sequence and how to fix it. The
 * weights are untouched.
 */
public class InvalidInputException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    private final int index;

    /**
     * @param index position of the bad sequence in its batch
     * @param message what is wrong and how to fix it
     */
    public InvalidInputException(final int index, final String message) {
        super(message);
        this.index = index;
    }

    /** @return position of the bad sequence in its batch */
    public int index() {
        return index;
    }
}
