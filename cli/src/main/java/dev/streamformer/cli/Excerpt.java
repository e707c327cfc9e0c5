package dev.streamformer.cli;

/** A text shortened to one line for tables. */
final class Excerpt {

    private static final int WIDTH = 60;

    private Excerpt() {
    }

    /**
     * @param text any text
     * @return its whitespace collapsed, at most 60 characters (ending in ... when cut)
     */
    static String of(final String text) {
        return of(text, WIDTH);
    }

    /**
     * @param text any text
     * @param width the most characters to keep
     * @return its whitespace collapsed, at most {@code width} characters (ending in ... when cut)
     */
    static String of(final String text, final int width) {
        // Only the start is read: a 6.5 MB e-mail is not copied whole to show 60 characters of it.
        final String start = text.length() > 4 * width ? text.substring(0, 4 * width) : text;
        final String flat = start.replaceAll("\\s+", " ").strip();
        return flat.length() <= width && start.length() == text.length() ? flat
                : flat.substring(0, Math.min(flat.length(), width - 3)) + "...";
    }
}
