package dev.streamformer.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import dev.streamformer.model.EncoderInput;
import dev.streamformer.model.InferenceModel;

/**
 * Resident memory of one model serving batches, measured in a fresh JVM so that nothing else the
 * caller loaded counts: loads the model, runs batches of 8 x 128 tokens, prints VmRSS in bytes.
 */
public final class MemoryProbe {

    private MemoryProbe() {
    }

    /**
     * @param args the model directory
     * @throws Exception when the model cannot be loaded
     */
    public static void main(final String[] args) throws Exception {
        try (InferenceModel model = InferenceModel.load(Path.of(args[0]))) {
            model.setIntraOpThreads(2);
            final SplittableRandom random = new SplittableRandom(1);
            final List<EncoderInput> batch = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                batch.add(EncoderInput.of(random.ints(128, 0, model.config().vocabSize()).toArray()));
            }
            for (int i = 0; i < 10; i++) {
                model.predict(batch);
            }
            System.out.println(residentBytes());
        }
    }

    /**
     * @return VmRSS of this process, bytes
     * @throws java.io.IOException when /proc cannot be read
     */
    public static long residentBytes() throws java.io.IOException {
        return residentBytes(ProcessHandle.current().pid());
    }

    /**
     * @param pid a process id
     * @return VmRSS of that process, bytes
     * @throws java.io.IOException when /proc cannot be read (for example, the process ended)
     */
    public static long residentBytes(final long pid) throws java.io.IOException {
        return statusBytes(pid, "VmRSS:");
    }

    /**
     * @return VmHWM of this process, the highest resident memory it has had, bytes
     * @throws java.io.IOException when /proc cannot be read
     */
    public static long peakResidentBytes() throws java.io.IOException {
        return statusBytes(ProcessHandle.current().pid(), "VmHWM:");
    }

    private static long statusBytes(final long pid, final String field) throws java.io.IOException {
        for (final String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            if (line.startsWith(field)) {
                return Long.parseLong(line.replaceAll("\\D+", "")) * 1024;
            }
        }
        throw new IllegalStateException("no " + field + " in /proc/" + pid + "/status");
    }

    /**
     * Runs the probe in a child JVM with this JVM's class path.
     *
     * @param modelDir the model
     * @return its resident bytes
     * @throws Exception when the child fails
     */
    public static long measure(final Path modelDir) throws Exception {
        final Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        final Process p = new ProcessBuilder(java.toString(), "-Dai.djl.offline=true", "-cp",
                System.getProperty("java.class.path"), MemoryProbe.class.getName(), modelDir.toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        final String out = new String(p.getInputStream().readAllBytes()).strip();
        if (p.waitFor() != 0) {
            throw new IllegalStateException("memory probe failed for " + modelDir);
        }
        final String[] lines = out.split("\n");
        return Long.parseLong(lines[lines.length - 1].strip());
    }
}
