package dev.streamformer.cli;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import dev.streamformer.release.ModelReleases;
import dev.streamformer.schemas.ModelArtifact;
import dev.streamformer.schemas.ModelRelease;
import dev.streamformer.schemas.ModelStatus;
import dev.streamformer.schemas.RefusedRelease;
import dev.streamformer.schemas.ServedModel;

/**
 * The text of {@code model releases}: per model name, what the models topic asks for, then what each
 * processor instance serves under that name and the release it refused, if any, with the reason.
 */
final class StatusView {

    /** An instance whose status is older than this is silent: it writes every third of it. */
    static final int LIVE_SECONDS = 90;

    private StatusView() {
    }

    /**
     * @param releases the latest release of every name, with its offset
     * @param statuses the latest status of every instance
     * @param now the time to judge silence against
     * @param all whether to list silent instances too
     * @return the table, one block per name
     */
    static String render(final Map<String, ModelReleases.Offset> releases, final Map<String, ModelStatus> statuses,
            final Instant now, final boolean all) {
        final StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "%-24s %-8s %-18s %-18s %-14s %s%n", "name", "offset", "stable",
                "candidate", "trial", "published"));
        final Set<String> names = new LinkedHashSet<>(releases.keySet());
        statuses.values().forEach(s -> s.getModels().forEach(m -> names.add(m.getName().toString())));
        int silent = 0;
        for (final ModelStatus s : statuses.values()) {
            silent += live(s, now) ? 0 : 1;
        }
        for (final String name : names) {
            final ModelReleases.Offset o = releases.get(name);
            if (o == null) {
                out.append(String.format(Locale.ROOT, "%-24s %-8s %-18s %-18s %-14s %s%n", name, "-",
                        "(not on the topic: instances serve their configured directory)", "", "", ""));
            } else {
                final ModelRelease r = o.release();
                out.append(String.format(Locale.ROOT, "%-24s %-8d %-18s %-18s %-14s %s%n", name, o.offset(),
                        where(r.getStable()), r.getCandidate() == null ? "-" : where(r.getCandidate()),
                        r.getCandidate() == null ? "-" : r.getShadow() ? "shadow" : "canary " + r.getCanaryPercent() + " %",
                        r.getPublishedAt()));
            }
            for (final ModelStatus s : statuses.values()) {
                if (!all && !live(s, now)) {
                    continue;
                }
                final List<String> parts = new ArrayList<>();
                for (final ServedModel m : s.getModels()) {
                    if (m.getName().toString().equals(name)) {
                        parts.add("serves " + m.getStable() + (m.getCandidate() == null ? ""
                                : ", candidate " + m.getCandidate() + (m.getShadow() ? " as shadow"
                                        : " on " + m.getCanaryPercent() + " %"))
                                + (m.getReleaseOffset() < 0 ? " (its configured directory)"
                                        : " (release at offset " + m.getReleaseOffset() + ")"));
                    }
                }
                for (final RefusedRelease refused : s.getRefusals()) {
                    if (refused.getName().toString().equals(name)
                            && (o == null || refused.getReleaseOffset() >= o.offset())) {
                        parts.add("REFUSED the release at offset " + refused.getReleaseOffset() + " ("
                                + refused.getVersions() + "): " + refused.getReason());
                    }
                }
                if (!parts.isEmpty()) {
                    out.append(String.format(Locale.ROOT, "  %-30s %s; %s%n", s.getInstance() + " (" + s.getApplicationId()
                            + ")", String.join("; ", parts), heard(s, now)));
                }
            }
        }
        if (statuses.isEmpty()) {
            out.append("no instance has written its status (processors of this version write it to the model status"
                    + " topic while they run)").append(System.lineSeparator());
        } else if (silent > 0 && !all) {
            out.append(silent).append(silent == 1 ? " instance" : " instances").append(" silent for over ")
                    .append(LIVE_SECONDS).append(" s not shown (--all lists them)").append(System.lineSeparator());
        }
        return out.toString();
    }

    private static boolean live(final ModelStatus s, final Instant now) {
        return Duration.between(s.getUpdatedAt(), now).getSeconds() <= LIVE_SECONDS;
    }

    private static String heard(final ModelStatus s, final Instant now) {
        final long seconds = Math.max(0, Duration.between(s.getUpdatedAt(), now).getSeconds());
        return (live(s, now) ? "heard " : "SILENT, last heard ") + seconds + " s ago";
    }

    private static String where(final ModelArtifact a) {
        return a.getVersion() + (a.getLocation() == null ? "" : " @ " + a.getLocation());
    }
}
