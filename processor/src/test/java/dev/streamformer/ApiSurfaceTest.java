package dev.streamformer;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/**
 * What the library offers, read from its sources: every public type outside {@code internals}
 * packages says what it is for, and no two packages depend on each other.
 */
class ApiSurfaceTest {

    private static final Path SOURCES = Path.of("src/main/java");
    private static final Pattern PACKAGE = Pattern.compile("^package ([\\w.]+);", Pattern.MULTILINE);
    private static final Pattern PUBLIC_TYPE = Pattern.compile(
            "^public (?:final |abstract |sealed |non-sealed )*(?:class|interface|enum|record|@interface) (\\w+)",
            Pattern.MULTILINE);

    @Test
    void everyPublicTypeOutsideInternalsHasJavadocSayingWhatItIsFor() throws IOException {
        final List<String> undocumented = new ArrayList<>();
        for (final Path file : sources()) {
            final String text = Files.readString(file);
            final String pkg = packageOf(text);
            if (pkg.contains(".internals")) {
                continue;
            }
            final Matcher m = PUBLIC_TYPE.matcher(text);
            if (m.find()) {
                final String before = text.substring(0, m.start()).replaceAll("(?m)^@\\w+(\\(.*\\))?\\s*$", "").strip();
                if (!before.endsWith("*/") || before.lastIndexOf("/**") < 0
                        || before.substring(before.lastIndexOf("/**")).replaceAll("[/*\\s]", "").length() < 20) {
                    undocumented.add(pkg + "." + m.group(1));
                }
            }
        }
        assertThat(undocumented).as("public types without a Javadoc comment of a sentence").isEmpty();
    }

    @Test
    void noTwoPackagesDependOnEachOther() throws IOException {
        final Map<String, String> texts = new HashMap<>();
        final Set<String> packages = new TreeSet<>();
        for (final Path file : sources()) {
            final String text = Files.readString(file);
            texts.put(file.toString(), text);
            packages.add(packageOf(text));
        }
        final Map<String, Set<String>> uses = new TreeMap<>();
        texts.values().forEach(text -> {
            final String from = packageOf(text);
            for (final String to : packages) {
                if (!to.equals(from) && Pattern.compile("\\b" + Pattern.quote(to) + "\\.[A-Z]").matcher(text).find()) {
                    uses.computeIfAbsent(from, k -> new TreeSet<>()).add(to);
                }
            }
        });
        final List<String> cycles = new ArrayList<>();
        for (final String a : packages) {
            for (final String b : packages) {
                if (a.compareTo(b) < 0 && reaches(uses, a, b, new TreeSet<>()) && reaches(uses, b, a, new TreeSet<>())) {
                    cycles.add(a + " <-> " + b);
                }
            }
        }
        assertThat(cycles).as("package cycles (uses: " + uses + ")").isEmpty();
    }

    private static boolean reaches(final Map<String, Set<String>> uses, final String from, final String to,
            final Set<String> seen) {
        if (!seen.add(from)) {
            return false;
        }
        for (final String next : uses.getOrDefault(from, Set.of())) {
            if (next.equals(to) || reaches(uses, next, to, seen)) {
                return true;
            }
        }
        return false;
    }

    private static String packageOf(final String text) {
        final Matcher m = PACKAGE.matcher(text);
        return m.find() ? m.group(1) : "";
    }

    private static List<Path> sources() throws IOException {
        try (Stream<Path> files = Files.walk(SOURCES)) {
            return files.filter(p -> p.toString().endsWith(".java") && !p.endsWith("package-info.java")).sorted().toList();
        }
    }
}
