package dev.streamformer.model;

import java.util.EnumMap;
import java.util.Map;
import java.util.ServiceLoader;

/** The engines on the class path, by {@link InferenceEngine}, found once per JVM. */
final class Engines {

    private static volatile Map<InferenceEngine, EngineProvider> found;

    private Engines() {
    }

    /**
     * @param engine the engine asked for
     * @return its provider
     * @throws IllegalStateException naming the artifact to add when it is not on the class path
     */
    static EngineProvider get(final InferenceEngine engine) {
        final EngineProvider provider = all().get(engine);
        if (provider == null) {
            throw new IllegalStateException("The " + engine + " engine is not on the class path: add the artifact "
                    + engine.artifact() + " (the streamformer CLI carries it), or use --engine " + InferenceEngine.DEFAULT);
        }
        return provider;
    }

    /**
     * @param engine an engine
     * @return whether its artifact is on the class path
     */
    static boolean available(final InferenceEngine engine) {
        return all().containsKey(engine);
    }

    private static Map<InferenceEngine, EngineProvider> all() {
        Map<InferenceEngine, EngineProvider> now = found;
        if (now == null) {
            now = new EnumMap<>(InferenceEngine.class);
            for (final EngineProvider p : ServiceLoader.load(EngineProvider.class, Engines.class.getClassLoader())) {
                now.putIfAbsent(p.engine(), p);
            }
            found = now;
        }
        return now;
    }
}
