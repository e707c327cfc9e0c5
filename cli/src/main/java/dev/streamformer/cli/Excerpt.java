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
        final String flat = text.replaceAll("\\s+", " ").strip();
        return flat.length() <= WIDTH ? flat : flat.substring(0, WIDTH - 3) + "...";
    }
}
