package dev.streamformer.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import dev.streamformer.bench.MemoryProbe;

/**
 * A {@code streamformer} command in a child JVM with this JVM's class path, its output appended to a
 * log file that survives restarts, so the fault suite can kill it with SIGKILL and start it again.
 */
public final class ChildProcess {

    private final String name;
    private final List<String> jvmOptions;
    private final List<String> arguments;
    private final Path log;
    private final Map<String, String> environment = new HashMap<>();
    private Process process;

    /**
     * @param name for messages
     * @param jvmOptions options before the class name, for example {@code -Xmx256m}
     * @param arguments the command and its options
     * @param log the output file, appended to
     */
    public ChildProcess(final String name, final List<String> jvmOptions, final List<String> arguments, final Path log) {
        this.name = name;
        this.jvmOptions = jvmOptions;
        this.arguments = arguments;
        this.log = log;
    }

    /**
     * Starts (or restarts) the process.
     *
     * @return this
     * @throws IOException when it cannot be started
     */
    public ChildProcess start() throws IOException {
        final List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Dai.djl.offline=true");
        command.add("-Dlog4j2.configurationFile=log4j2.xml");
        command.add("-Djava.io.tmpdir=" + System.getProperty("java.io.tmpdir"));
        command.addAll(jvmOptions);
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add("dev.streamformer.cli.StreamformerCli");
        command.addAll(arguments);
        Files.createDirectories(log.toAbsolutePath().getParent());
        final ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        builder.environment().putAll(environment);
        process = builder.start();
        return this;
    }

    /**
     * SIGKILL: no shutdown hook, no commit.
     *
     * @throws InterruptedException when interrupted
     */
    public void kill() throws InterruptedException {
        process.destroyForcibly().waitFor();
    }

    /**
     * SIGTERM and wait.
     *
     * @param timeout the longest to wait before SIGKILL
     * @return the exit code
     * @throws InterruptedException when interrupted
     */
    public int stop(final Duration timeout) throws InterruptedException {
        process.destroy();
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly().waitFor();
        }
        return process.exitValue();
    }

    /**
     * Waits for the process to exit by itself.
     *
     * @param timeout the longest to wait
     * @return the exit code
     * @throws InterruptedException when interrupted
     * @throws IllegalStateException when it still runs after the timeout (it is then killed)
     */
    public int awaitExit(final Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly().waitFor();
            throw new IllegalStateException(name + " did not exit within " + timeout + "; see " + log);
        }
        return process.exitValue();
    }

    /**
     * Sets an environment variable for the next starts.
     *
     * @param name the variable
     * @param value its value
     * @return this
     */
    public ChildProcess withEnvironment(final String name, final String value) {
        environment.put(name, value);
        return this;
    }

    /** @return the name given, for messages */
    public String name() {
        return name;
    }

    /** @return the process id of the running process */
    public long pid() {
        if (process == null) {
            throw new IllegalStateException(name + " was never started");
        }
        return process.pid();
    }

    /** @return whether the process runs */
    public boolean alive() {
        return process != null && process.isAlive();
    }

    /**
     * @param text a fragment of a log line
     * @return how many lines of the log contain it
     * @throws IOException when the log cannot be read
     */
    public long count(final String text) throws IOException {
        if (!Files.exists(log)) {
            return 0;
        }
        try (var lines = Files.lines(log)) {
            return lines.filter(l -> l.contains(text)).count();
        }
    }

    /**
     * Waits until the log holds {@code times} lines containing {@code text}.
     *
     * @param text the fragment
     * @param times how many lines
     * @param timeout the longest to wait
     * @throws Exception when it does not appear in time or the process died
     */
    public void await(final String text, final long times, final Duration timeout) throws Exception {
        final long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (count(text) >= times) {
                return;
            }
            if (!alive()) {
                throw new IllegalStateException(name + " exited (code " + process.exitValue() + ") before '" + text
                        + "'; see " + log);
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException(name + " did not log '" + text + "' " + times + " times within " + timeout
                + "; see " + log);
    }

    /** @return the process's resident memory in MB, 0 when it does not run */
    public double residentMb() {
        if (!alive()) {
            return 0;
        }
        try {
            return MemoryProbe.residentBytes(process.pid()) / (1024.0 * 1024.0);
        } catch (IOException | IllegalStateException e) {
            return 0;
        }
    }

    /** @return the log file */
    public Path log() {
        return log;
    }
}
