package dev.streamformer.stream;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.streamformer.model.DefaultModel;
import dev.streamformer.model.EngineSettings;
import dev.streamformer.model.InferenceModel;

/**
 * One loaded copy of each model per JVM. Every stream task borrows the model through a
 * {@link Lease}; the model is loaded by the first borrower and closed when the last lease closes.
 * The application's {@link ModelCatalog} holds a lease on every version a route names, so tasks
 * that come and go with rebalances never cause a reload; a new version from the models topic is
 * another lease, and the old one closes when the catalog and the last pass let go of it. With the model goes a gate that admits a fixed number of forward passes at once,
 * set by its first borrower.
 */
public class ModelRegistry {

    private static final Logger LOG = LoggerFactory.getLogger(ModelRegistry.class);
    private static final ModelRegistry SHARED = new ModelRegistry();

    private final Map<String, Entry> entries = new HashMap<>();
    private final AtomicInteger loads = new AtomicInteger();

    /**
     * A registry of its own, apart from the JVM's: its models are loaded and counted apart (tests use
     * one each). Applications use {@link #shared()}.
     */
    public ModelRegistry() {
    }

    /** @return the registry of this JVM */
    public static ModelRegistry shared() {
        return SHARED;
    }

    /**
     * Which acquisitions share one loaded copy: those with the same key. Here, one copy per model
     * directory and engine settings; a subclass may key more finely (the stream benchmark gives every
     * lease its own copy to measure what sharing saves).
     *
     * @param modelDir the absolute, normalised model directory, or empty for the shipped default
     * @param engine the engine settings
     * @param loadsSoFar how many models this registry has loaded
     * @return the key of the loaded copy this acquisition shares
     */
    protected String shareKey(final String modelDir, final EngineSettings engine, final int loadsSoFar) {
        return modelDir + "|" + engine;
    }

    /**
     * Borrows a model, loading it if no one holds it.
     *
     * @param modelDir a model directory, or empty for the shipped default model
     * @return a lease; close it when done
     */
    public Lease acquire(final String modelDir) {
        return acquire(modelDir, EngineSettings.DEFAULT, Integer.MAX_VALUE);
    }

    /**
     * Borrows a model, loading it if no one holds it.
     *
     * @param modelDir a model directory, or empty for the shipped default model
     * @param engine the engine and its threads; the same directory on other settings is another model
     * @param concurrentPasses forward passes the model's gate admits at once, if this loads it
     * @return a lease; close it when done
     */
    public synchronized Lease acquire(final String modelDir, final EngineSettings engine, final int concurrentPasses) {
        final String dir = modelDir == null || modelDir.isBlank() ? "" : Path.of(modelDir).toAbsolutePath().normalize().toString();
        final String key = shareKey(dir, engine, loads.get());
        Entry entry = entries.get(key);
        if (entry == null) {
            final long start = System.nanoTime();
            try {
                final InferenceModel model = load(dir, engine);
                entry = new Entry(model, new Semaphore(concurrentPasses));
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot load model " + (dir.isEmpty() ? "(default)" : dir) + ": "
                        + e.getMessage(), e);
            }
            loads.incrementAndGet();
            entries.put(key, entry);
            LOG.info("Loaded model {} version {} on {} ({} intra-op threads; {} unique parameters, {} MB) in {} ms",
                    entry.model.name(), entry.model.version(), engine.engine(), engine.intraOpThreads(),
                    entry.model.stats().uniqueParameters(),
                    String.format("%.1f", entry.model.stats().totalBytes() / 1e6), (System.nanoTime() - start) / 1_000_000);
        }
        entry.users++;
        return new Lease(key, entry.model, entry.gate);
    }

    /**
     * Loads a model. A subclass may wrap what this returns ({@link InferenceModel#wrapped}) to
     * instrument every forward pass or to inject faults.
     *
     * @param modelDir the absolute, normalised model directory, or empty for the shipped default
     * @param engine the engine settings
     * @return the loaded model
     * @throws IOException when the directory cannot be read
     */
    protected InferenceModel load(final String modelDir, final EngineSettings engine) throws IOException {
        return modelDir.isEmpty() ? DefaultModel.load(engine) : InferenceModel.load(Path.of(modelDir), engine);
    }

    /** @return how many times a model was loaded in this JVM */
    public int loads() {
        return loads.get();
    }

    private synchronized void release(final String key) {
        final Entry entry = entries.get(key);
        if (entry != null && --entry.users == 0) {
            entries.remove(key);
            entry.model.close();
            LOG.info("Closed model {} (no users left)", entry.model.name());
            NativeHeap.trimAfter("model " + entry.model.name());
        }
    }

    /** A borrowed model. */
    public final class Lease implements AutoCloseable {
        private final String key;
        private final InferenceModel model;
        private final Semaphore gate;
        private boolean closed;

        private Lease(final String key, final InferenceModel model, final Semaphore gate) {
            this.key = key;
            this.model = model;
            this.gate = gate;
        }

        /** @return the shared model */
        public InferenceModel model() {
            return model;
        }

        /** @return the gate of the model's forward passes: take a permit for each pass */
        public Semaphore gate() {
            return gate;
        }

        @Override
        public synchronized void close() {
            if (!closed) {
                closed = true;
                release(key);
            }
        }
    }

    private static final class Entry {
        final InferenceModel model;
        final Semaphore gate;
        int users;

        Entry(final InferenceModel model, final Semaphore gate) {
            this.model = model;
            this.gate = gate;
        }
    }
}
