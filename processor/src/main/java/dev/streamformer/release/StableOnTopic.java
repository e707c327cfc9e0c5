package dev.streamformer.release;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.streamformer.model.EngineSettings;
import dev.streamformer.model.InferenceModel;
import dev.streamformer.schemas.ModelArtifact;
import dev.streamformer.release.internals.VersionCheck;

/**
 * The stable version of a name that processors serve from the models topic: the stable side of the
 * latest release whose stable version loads and passes {@link VersionCheck#servable}, as a processor
 * that refuses a release falls back to the latest one it accepts. Loaded here so that a new version
 * is compared with it; closed with the publish.
 *
 * @param artifact the version, or null when no release's stable version passes
 * @param dir where it was unpacked, or null
 * @param model the loaded version, or null (none passes, or a location this machine cannot read)
 * @param refused the stable versions that failed, newest first, each with why
 */
record StableOnTopic(ModelArtifact artifact, Path dir, InferenceModel model, List<String> refused)
        implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(StableOnTopic.class);

    /**
     * @param history the releases of one name, oldest first
     * @param name the name
     * @param scratch where to unpack versions
     * @return the stable version processors serve, with the ones passed over
     */
    static StableOnTopic find(final List<ModelReleases.Offset> history, final String name, final Path scratch) {
        final List<String> refused = new ArrayList<>();
        final Set<String> tried = new HashSet<>();
        for (int i = history.size() - 1; i >= 0; i--) {
            final ModelArtifact stable = history.get(i).release().getStable();
            final String version = stable.getVersion().toString();
            if (!tried.add(version)) {
                continue;
            }
            final Path dir;
            try {
                dir = ModelPackage.unpack(stable, scratch.resolve(Integer.toString(i)));
            } catch (IOException e) {
                if (stable.getLocation() != null) {
                    // Not broken, perhaps: a shared volume that only the processors mount.
                    LOG.warn("Cannot check stable version {} of {} at {} from here ({}); taking it as the processors"
                            + " serve it", version, name, stable.getLocation(), e.getMessage());
                    return new StableOnTopic(stable, null, null, refused);
                }
                refused.add(version + " (offset " + history.get(i).offset() + "): " + e.getMessage());
                continue;
            }
            InferenceModel model = null;
            try {
                model = InferenceModel.load(dir, name, EngineSettings.DEFAULT);
                VersionCheck.servable(model, dir);
                return new StableOnTopic(stable, dir, model, refused);
            } catch (IOException | RuntimeException e) {
                if (model != null) {
                    model.close();
                }
                refused.add(version + " (offset " + history.get(i).offset() + "): " + e.getMessage());
            }
        }
        return new StableOnTopic(null, null, null, refused);
    }

    /** @return the passed-over versions as a clause for messages, or empty */
    String refusals() {
        return refused.isEmpty() ? "" : " that loads (" + String.join("; ", refused) + ")";
    }

    @Override
    public void close() {
        if (model != null) {
            model.close();
        }
    }
}
