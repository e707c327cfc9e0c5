package dev.streamformer.corpus;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/**
 * The labelled messages the demo produces: the held-out test part of the stratified random split
 * (seed 13), which no shipped model or vocabulary has seen, stored as gzipped TSV lines
 * {@code id, label, text} with the text cut to a few thousand characters. Bundled with the
 * processor.
 */
public final class DemoSample {

    /** The class-path resource of the bundled sample. */
    public static final String RESOURCE = "/dev/streamformer/demo/sample.tsv.gz";

    /**
     * One labelled message.
     *
     * @param id corpus id
     * @param label ham or spam
     * @param text the message text
     */
    public record Item(String id, String label, String text) {
    }

    private DemoSample() {
    }

    /**
     * Writes a sample.
     *
     * @param messages the messages to draw from
     * @param count how many
     * @param maxChars the longest text kept
     * @param seed the sampling seed
     * @param out the .tsv.gz file
     * @throws IOException when it cannot be written
     */
    public static void write(final List<Corpus.Message> messages, final int count, final int maxChars, final long seed,
            final Path out) throws IOException {
        final List<Corpus.Message> shuffled = new ArrayList<>(messages);
        Collections.shuffle(shuffled, new Random(seed));
        Files.createDirectories(out.toAbsolutePath().getParent());
        try (OutputStream file = Files.newOutputStream(out);
                PrintWriter w = new PrintWriter(new java.io.OutputStreamWriter(new GZIPOutputStream(file),
                        StandardCharsets.UTF_8))) {
            for (final Corpus.Message m : shuffled.subList(0, Math.min(count, shuffled.size()))) {
                final String text = m.text().length() > maxChars ? m.text().substring(0, maxChars) : m.text();
                w.print(m.id() + "\t" + Corpus.LABELS.get(m.label()) + "\t" + text.replace('\t', ' ').replace('\n', ' ')
                        + "\n");
            }
        }
    }

    /**
     * The bundled sample's texts as a model's tokenizer reads them.
     *
     * @param modelDir a model directory with its tokenizer
     * @param length tokens per text; null or 0 = the model's input length
     * @return token ids of each text, in the sample's order
     * @throws IOException when the sample or the tokenizer cannot be read
     */
    public static List<int[]> tokenized(final Path modelDir, final Integer length) throws IOException {
        final List<int[]> texts = new ArrayList<>();
        try (dev.streamformer.text.TextTokenizer tokenizer = dev.streamformer.text.TextTokenizer.load(modelDir,
                dev.streamformer.text.TextTokenizer.length(modelDir, length))) {
            for (final Item item : bundled()) {
                texts.add(tokenizer.encode(item.text()));
            }
        }
        return texts;
    }

    /**
     * Reads the bundled sample.
     *
     * @return the items
     * @throws IOException when the resource is missing or unreadable
     */
    public static List<Item> bundled() throws IOException {
        try (InputStream in = DemoSample.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IOException("The bundled demo sample " + RESOURCE + " is missing from the class path");
            }
            return read(in);
        }
    }

    static List<Item> read(final InputStream gz) throws IOException {
        final List<Item> items = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(new GZIPInputStream(gz), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                final String[] parts = line.split("\t", 3);
                if (parts.length == 3) {
                    items.add(new Item(parts[0], parts[1], parts[2]));
                }
            }
        }
        return items;
    }
}
