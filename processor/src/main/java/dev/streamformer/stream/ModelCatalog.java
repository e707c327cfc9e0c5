package dev.streamformer.stream;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.kafka.common.utils.Utils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.streamformer.model.DefaultModel;
import dev.streamformer.model.EngineSettings;
import dev.streamformer.model.ExitHeads;
import dev.streamformer.model.ExitPolicy;
import dev.streamformer.model.InferenceModel;
import dev.streamformer.release.ModelPackage;
import dev.streamformer.release.internals.VersionCheck;
import dev.streamformer.schemas.ModelArtifact;
import dev.streamformer.schemas.ModelRelease;

/**
 * What this application serves, by model name: for each name a {@link Route} with its stable
 * version and, during a trial, a candidate served to a share of the requests (canary) or beside
 * every request (shadow). Models are loaded through the {@link ModelRegistry}, so each version is
 * one copy per JVM whichever tasks and applications use it.
 *
 * <p>Routes change only by {@link #apply}: a new version is loaded and checked (its config and
 * tensors load, its labels and vocabulary are those of the version it replaces, a forward pass
 * gives finite logits) before the route switches, atomically, between two batches of any task; a
 * version that fails is refused and the route stays as it was. A retired version closes when the
 * last pass that took it ends ({@link Served#retain()}).
 */
public final class ModelCatalog implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ModelCatalog.class);

    private final ModelRegistry registry;
    private final EngineSettings engine;
    private final int concurrentPasses;
    private final boolean lengthBuckets;
    private final int refillWidth;
    private final ServingMetrics metrics;
    private final String defaultDir;
    private final Map<String, String> configured;
    private final Path cacheDir;
    /** The configured exit policy, or null for each model's own. */
    private final ExitPolicy exitPolicy;
    private volatile Map<String, Route> routes;
    private volatile String defaultName;
    private volatile Runnable sync = () -> { };
    private int attached;

    /** @return the meters of this catalog's versions and of its requests */
    ServingMetrics metrics() {
        return metrics;
    }

    /**
     * @param config the model directories, engine, batching and cache settings
     * @param registry where versions are loaded (one copy per JVM)
     * @param metrics where every version's meters go
     */
    public ModelCatalog(final StreamformerConfig config, final ModelRegistry registry, final ServingMetrics metrics) {
        this.registry = registry;
        this.engine = config.engineSettings();
        this.concurrentPasses = config.forwardConcurrency();
        this.lengthBuckets = config.getBoolean(StreamformerConfig.BATCH_LENGTH_BUCKETS_CONFIG);
        this.refillWidth = config.refillWidth();
        this.metrics = metrics;
        this.defaultDir = config.getString(StreamformerConfig.MODEL_DIR_CONFIG);
        this.configured = config.extraModels();
        this.cacheDir = config.modelsCacheDir();
        final String policy = config.getString(StreamformerConfig.EXIT_POLICY_CONFIG);
        this.exitPolicy = policy.isBlank() ? null : ExitPolicy.parse(policy);
    }

    /**
     * Loads the configured models, if not yet loaded, and counts one more user; the last
     * {@link #detach()} closes them. Every task attaches while it lives and the application while it runs.
     */
    public synchronized void attach() {
        if (routes == null) {
            final Map<String, Route> loaded = new LinkedHashMap<>();
            try {
                final Served first = load(defaultDir, null);
                defaultName = first.model().name();
                loaded.put(defaultName, new Route(defaultName, -1, first, null, 0, false));
                for (final Map.Entry<String, String> e : configured.entrySet()) {
                    if (loaded.containsKey(e.getKey())) {
                        throw new IllegalArgumentException("model name '" + e.getKey() + "' is configured twice (the"
                                + " default model is named so too): give every entry of "
                                + StreamformerConfig.MODELS_CONFIG + " its own name");
                    }
                    loaded.put(e.getKey(), new Route(e.getKey(), -1, load(e.getValue(), e.getKey()), null, 0, false));
                }
            } catch (RuntimeException e) {
                loaded.values().forEach(Route::retire);
                throw e;
            }
            routes = Map.copyOf(loaded);
        }
        attached++;
    }

    /** Counts one user less; the last closes every version. */
    public synchronized void detach() {
        if (attached > 0 && --attached == 0 && routes != null) {
            routes.values().forEach(Route::retire);
            routes = null;
        }
    }

    @Override
    public void close() {
        detach();
    }

    /**
     * @param hook what {@link #sync()} runs: the application waits for its models topic watcher to
     *     apply every release on the topic
     */
    void syncWith(final Runnable hook) {
        this.sync = hook;
    }

    /** Called by a task when it starts, before its first request: brings the routes up to date. */
    void sync() {
        sync.run();
    }

    /** @return the name of the model that serves requests with an empty model field */
    public String defaultName() {
        return Objects.requireNonNull(defaultName, "attach() first");
    }

    /**
     * @param name a request's model field; null or blank for the default model
     * @return the route of that name, or null when no model of that name is served
     */
    public Route route(final String name) {
        final Map<String, Route> now = routes;
        if (now == null) {
            throw new IllegalStateException("the model catalog is closed");
        }
        return now.get(name == null || name.isBlank() ? defaultName : name);
    }

    /** @return every route, by name */
    public Map<String, Route> routes() {
        final Map<String, Route> now = routes;
        return now == null ? Map.of() : now;
    }

    /**
     * Switches a name to what a release says, loading and checking every version it names that is not
     * loaded yet. The route of another name, and this one's if anything fails, stays as it was.
     *
     * @param release the release, as read from the models topic
     * @param generation its offset in the models topic: routes of a name only move to higher ones
     * @return null when the route switched (or was already there), else why the release was refused
     */
    public String apply(final ModelRelease release, final long generation) {
        final String name = release.getName().toString();
        final Route current;
        synchronized (this) {
            current = route(name);
            if (current != null && current.generation() >= generation) {
                return null;
            }
        }
        final List<Served> loadedHere = new ArrayList<>();
        try {
            final Served stable = version(name, release.getStable(), current, loadedHere);
            final Served candidate = release.getCandidate() == null ? null
                    : version(name, release.getCandidate(), current, loadedHere);
            final int percent = release.getCanaryPercent();
            if (percent < 0 || percent > 100) {
                throw new IllegalArgumentException("canary_percent is " + percent + ", outside 0-100");
            }
            final Route next = new Route(name, generation, stable, candidate, candidate == null ? 0 : percent,
                    candidate != null && release.getShadow());
            final Route replaced;
            synchronized (this) {
                final Map<String, Route> copy = new LinkedHashMap<>(routes());
                replaced = copy.put(name, next);
                routes = Map.copyOf(copy);
            }
            if (replaced != null) {
                replaced.retireExcept(next);
            }
            metrics.switched(name);
            LOG.info("Model {} now serves {}", name, next.describe());
            return null;
        } catch (IOException | RuntimeException e) {
            loadedHere.forEach(Served::retire);
            final String reason = e.getMessage();
            metrics.refused(name);
            LOG.error("Refused release of model {} (models topic offset {}): {}; still serving {}. Publish a version"
                    + " that passes (`streamformer model status` shows what each instance serves)", name, generation,
                    reason, current == null ? "nothing under that name" : current.describe());
            return reason;
        }
    }

    /** The version an artifact names: one already routed under the name, else loaded, checked against the current. */
    private Served version(final String name, final ModelArtifact artifact, final Route current,
            final List<Served> loadedHere) throws IOException {
        final String version = artifact.getVersion().toString();
        for (final Served s : loadedHere) {
            if (s.model().version().equals(version)) {
                return s;
            }
        }
        if (current != null) {
            for (final Served s : current.versions()) {
                if (s.model().version().equals(version)) {
                    return s;
                }
            }
        }
        final Path dir = ModelPackage.unpack(artifact, cacheDir.resolve(name));
        final Served loaded = load(dir.toString(), name);
        loadedHere.add(loaded);
        if (!loaded.model().version().equals(version)) {
            throw new IllegalArgumentException("the files are version " + loaded.model().version() + ", not the published "
                    + version);
        }
        check(loaded, current == null ? null : current.stable());
        return loaded;
    }

    /**
     * The checks a version passes before it serves ({@link VersionCheck}): labels and vocabulary as the
     * version it replaces, a tokenizer that loads, a forward pass with finite logits.
     */
    static void check(final Served next, final Served now) throws IOException {
        if (now != null) {
            VersionCheck.replaces(next.model(), Path.of(next.dir()), now.model(), Path.of(now.dir()));
        }
        VersionCheck.servable(next.model(), Path.of(next.dir()));
    }

    /**
     * The exit policy a version serves with: the configured one for a model with exit heads, else the
     * model's own default; a model without exit heads runs every layer.
     */
    private ExitPolicy exitPolicy(final InferenceModel model) {
        if (model.config().exits() == ExitHeads.NONE) {
            return ExitPolicy.NONE;
        }
        return exitPolicy != null ? exitPolicy : model.exitPolicy();
    }

    private Served load(final String dir, final String name) {
        final ModelRegistry.Lease lease = registry.acquire(dir, engine, concurrentPasses);
        try {
            final InferenceModel model = name == null || name.equals(lease.model().name()) ? lease.model()
                    : lease.model().named(name);
            final String resolved;
            try {
                resolved = dir == null || dir.isBlank() ? DefaultModel.directory().toString() : dir;
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            final ServingMetrics.Model meters = metrics.of(model);
            return new Served(model, lease, resolved, meters, new BatchRunner(model, lease.gate(), lengthBuckets, meters,
                    exitPolicy(model), refillWidth),
                    () -> metrics.retire(meters));
        } catch (RuntimeException e) {
            lease.close();
            throw e;
        }
    }

    /**
     * @param requestId a request id
     * @return its bucket in 0-99: murmur2 of its UTF-8 bytes, as Kafka's partitioner hashes keys, so a
     *     request id falls in the same bucket in every JVM
     */
    static int bucket(final String requestId) {
        return Utils.toPositive(Utils.murmur2(requestId.getBytes(StandardCharsets.UTF_8))) % 100;
    }

    /**
     * Where the requests of one model name go.
     *
     * @param name the model name
     * @param generation the models topic offset it came from, -1 for the configured directory
     * @param stable the version that serves every request not sent to the candidate
     * @param candidate the version on trial, or null
     * @param canaryPercent the share of request ids (by {@link #bucket}) the candidate serves
     * @param shadow whether the candidate also runs beside every request, to the shadow topic
     */
    public record Route(String name, long generation, Served stable, Served candidate, int canaryPercent,
            boolean shadow) {

        /**
         * @param requestId the request id
         * @return the version that serves it
         */
        public Served pick(final String requestId) {
            return candidate != null && canaryPercent > 0 && bucket(requestId) < canaryPercent ? candidate : stable;
        }

        /** @return the version that runs beside every request, or null */
        public Served shadowVersion() {
            return shadow ? candidate : null;
        }

        List<Served> versions() {
            return candidate == null ? List.of(stable) : List.of(stable, candidate);
        }

        String describe() {
            return stable.model().version() + (candidate == null ? "" : ", candidate " + candidate.model().version()
                    + (shadow ? " as shadow" : "") + (canaryPercent > 0 ? " on " + canaryPercent + " % of requests" : ""));
        }

        void retire() {
            versions().forEach(Served::retire);
        }

        void retireExcept(final Route next) {
            for (final Served s : versions()) {
                if (!next.versions().contains(s)) {
                    s.retire();
                }
            }
        }
    }

    /**
     * One loaded version: the model, its forward-pass runner and meters. The catalog holds it while a
     * route names it; a pass holds it with {@link #retain()} / {@link #release()}, so that a retired
     * version closes when its last pass ends.
     */
    public static final class Served {
        private final InferenceModel model;
        private final ModelRegistry.Lease lease;
        private final String dir;
        final ServingMetrics.Model meters;
        final BatchRunner runner;
        private final Runnable retireMeters;
        private final AtomicInteger holds = new AtomicInteger(1);
        private volatile boolean retired;

        Served(final InferenceModel model, final ModelRegistry.Lease lease, final String dir,
                final ServingMetrics.Model meters, final BatchRunner runner, final Runnable retireMeters) {
            this.model = model;
            this.lease = lease;
            this.dir = dir;
            this.meters = meters;
            this.runner = runner;
            this.retireMeters = retireMeters;
        }

        /** @return the model */
        public InferenceModel model() {
            return model;
        }

        /** @return the directory it was loaded from */
        public String dir() {
            return dir;
        }

        /** @return whether no route names it any more */
        public boolean retired() {
            return retired;
        }

        /** @return true when the pass may run on it; false when it closed, so read the route again */
        boolean retain() {
            while (true) {
                final int n = holds.get();
                if (n == 0) {
                    return false;
                }
                if (holds.compareAndSet(n, n + 1)) {
                    return true;
                }
            }
        }

        void release() {
            if (holds.decrementAndGet() == 0) {
                // /metrics stops describing a version no route serves (its counters stay, as counters do).
                retireMeters.run();
                lease.close();
            }
        }

        private synchronized void retire() {
            if (!retired) {
                retired = true;
                release();
            }
        }
    }
}
