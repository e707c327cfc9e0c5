package dev.streamformer.schemas.internals;

import java.util.Collection;
import java.util.Optional;

/** The known name closest to a misspelt one, for messages that name the fix. */
public final class NearestName {

    private NearestName() {
    }

    /**
     * @param name the unknown name
     * @param known the names that exist
     * @param maxDistance the most edits (insertions, deletions, substitutions) a misspelling may have
     * @return the nearest known name within that distance, if any
     */
    public static Optional<String> within(final String name, final Collection<String> known, final int maxDistance) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (final String k : known) {
            final int d = distance(name, k);
            if (d < bestDistance) {
                best = k;
                bestDistance = d;
            }
        }
        return bestDistance <= maxDistance ? Optional.ofNullable(best) : Optional.empty();
    }

    /**
     * @param name the unknown name
     * @param known the names that exist
     * @return the nearest known name, however far
     */
    public static String of(final String name, final Collection<String> known) {
        return within(name, known, Integer.MAX_VALUE).orElseThrow();
    }

    /** Levenshtein distance. */
    static int distance(final String a, final String b) {
        int[] previous = new int[b.length() + 1];
        int[] current = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                final int substitution = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                current[j] = Math.min(substitution, Math.min(previous[j] + 1, current[j - 1] + 1));
            }
            final int[] t = previous;
            previous = current;
            current = t;
        }
        return previous[b.length()];
    }
}
