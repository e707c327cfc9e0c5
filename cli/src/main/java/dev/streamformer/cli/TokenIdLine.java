package dev.streamformer.cli;

/** Parses a line of comma-separated token ids, naming the line and the offending item on failure. */
final class TokenIdLine {

    private TokenIdLine() {
    }

    /**
     * @param text the line, for example {@code 2,1034,87,3}
     * @param where where it came from, for the message (for example {@code line 3} or {@code stdin line 3})
     * @return the ids
     * @throws IllegalArgumentException naming the line, the item and what to write instead
     */
    static int[] parse(final String text, final String where) {
        final String[] parts = text.split(",", -1);
        final int[] ids = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            final String item = parts[i].strip();
            try {
                ids[i] = Integer.parseInt(item);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(where + ": '" + item + "' (item " + (i + 1) + " of " + parts.length
                        + ") is not a token id: write integers separated by commas, for example 2,1034,87,3");
            }
        }
        return ids;
    }
}
