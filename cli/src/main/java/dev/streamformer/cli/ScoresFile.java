package dev.streamformer.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** The CSV of {@code --scores}: one row per e-mail with its id, label (1 = spam) and p(spam). */
final class ScoresFile {

    private ScoresFile() {
    }

    /**
     * @param file the CSV to write
     * @param ids each e-mail's id
     * @param labels each e-mail's label
     * @param spam each e-mail's p(spam)
     * @throws IOException when the file cannot be written
     */
    static void write(final Path file, final List<String> ids, final int[] labels, final double[] spam)
            throws IOException {
        final StringBuilder csv = new StringBuilder("id,label,p_spam\n");
        for (int i = 0; i < ids.size(); i++) {
            final String id = ids.get(i);
            csv.append(id.contains(",") || id.contains("\"") ? '"' + id.replace("\"", "\"\"") + '"' : id)
                    .append(',').append(labels[i]).append(',')
                    .append(String.format(Locale.ROOT, "%.6g", spam[i])).append('\n');
        }
        Files.writeString(file, csv);
        System.err.printf("wrote %d scores to %s%n", ids.size(), file);
    }
}
