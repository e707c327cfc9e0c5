package dev.streamformer.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import dev.streamformer.model.Activation;
import dev.streamformer.model.Checkpoint;
import dev.streamformer.model.EncoderInput;
import dev.streamformer.model.EngineSettings;
import dev.streamformer.model.InferenceEngine;
import dev.streamformer.model.InferenceModel;
import dev.streamformer.model.ModelConfig;
import dev.streamformer.model.SharingPlan;

/**
 * Resident memory of one model serving batches, measured in a fresh JVM so that nothing else the
 * caller loaded counts. A tiny model first runs one pass on the same engine, so the engine's own
 * libraries and threads are resident before the first figure; then the model loads and runs
 * batches of 8 x 128 tokens (fewer where the model takes fewer). Prints VmRSS in bytes before the load,
 * after it, and after the batches.
 */
public final class MemoryProbe {

    private MemoryProbe() {
    }

    /**
     * @param args the model directory, the engine, whether ONNX Runtime prepacks weights
     * @throws Exception when the model cannot be loaded
     */
    public static void main(final String[] args) throws Exception {
        final InferenceEngine engine = InferenceEngine.parse(args[1]);
        final EngineSettings settings = new EngineSettings(engine, 2, Boolean.parseBoolean(args[2]));
        final ModelConfig tiny = new ModelConfig(16, 8, 8, 1, 2, 2, 16, 8, 2, Activation.GELU_NEW, 1e-12, true,
                SharingPlan.ALL, List.of("a", "b"));
        try (InferenceModel warmUp = new InferenceModel("warm-up", "-", Checkpoint.random(tiny, 1), settings)) {
            warmUp.predict(List.of(EncoderInput.of(1, 2, 3)));
        }
        final long before = residentBytes();
        try (InferenceModel model = InferenceModel.load(Path.of(args[0]), settings)) {
            final long loaded = residentBytes();
            final SplittableRandom random = new SplittableRandom(1);
            final List<EncoderInput> batch = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                batch.add(EncoderInput.of(random.ints(Math.min(128, model.config().maxPositions()), 0,
                        model.config().vocabSize()).toArray()));
            }
            for (int i = 0; i < 10; i++) {
                model.predict(batch);
            }
            System.out.println(before + " " + loaded + " " + residentBytes());
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
     * @param engine the engine
     * @param prepacking whether ONNX Runtime prepacks constant matrices
     * @return resident bytes before loading the model, after loading it and after its batches
     * @throws Exception when the child fails
     */
    public static long[] measure(final Path modelDir, final InferenceEngine engine, final boolean prepacking)
            throws Exception {
        final Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        final Process p = new ProcessBuilder(java.toString(), "-Dai.djl.offline=true", "-Xms256m", "-Xmx256m",
                "-XX:+AlwaysPreTouch", "-cp", System.getProperty("java.class.path"), MemoryProbe.class.getName(),
                modelDir.toString(), engine.configName(), Boolean.toString(prepacking))
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        final String out = new String(p.getInputStream().readAllBytes()).strip();
        if (p.waitFor() != 0) {
            throw new IllegalStateException("memory probe failed for " + modelDir);
        }
        final String[] lines = out.split("\n");
        final String[] figures = lines[lines.length - 1].strip().split(" ");
        return new long[] {Long.parseLong(figures[0]), Long.parseLong(figures[1]), Long.parseLong(figures[2])};
    }
}
