package io.smtplb.balance;

import io.smtplb.config.BackendSettings;
import io.smtplb.config.PoolSettings;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The relays of one pool, split into primaries and backups, and the algorithm that spreads sessions over them.
 *
 * <p>Backups receive sessions only while no primary is available (healthy and ready). A primary that is
 * available but full does not open the backups: the client gets a 421 reply and retries later, because the operator capped the primaries.
 *
 * <p>Thread-safe. A reload swaps the whole {@link Members} snapshot at once; sessions that hold a slot on a
 * backend removed by the reload release it on that backend as usual.
 */
public final class BackendPool {

    private volatile Members members;

    /** An immutable view of the pool at one moment. */
    public record Members(PoolSettings settings, List<Backend> all, List<Backend> primaries, List<Backend> backups,
                          Balancer balancer) {
    }

    /** Outcome of {@link #acquire} when no backend could be taken. */
    public enum Shortage {
        /** No backend of the pool is healthy and ready. */
        NO_BACKEND_UP,
        /** Every available backend is at its {@code max-connections}. */
        ALL_FULL,
        /** Every available backend was already tried by this session. */
        ALL_TRIED
    }

    public BackendPool(PoolSettings settings) {
        this.members = build(settings, Map.of());
    }

    public String name() {
        return members.settings().name();
    }

    public Members members() {
        return members;
    }

    public PoolSettings settings() {
        return members.settings();
    }

    /**
     * Picks a backend for a new session and takes one of its connection slots.
     *
     * @param tried backends this session already tried; they are skipped
     * @return the backend with a slot taken, or {@code null} when none could be taken
     */
    public Backend acquire(Collection<Backend> tried) {
        Members current = members;
        List<Backend> tier = hasAvailable(current.primaries()) ? current.primaries() : current.backups();
        long now = System.nanoTime();
        List<Backend> raced = null;
        for (int round = 0; round <= tier.size(); round++) {
            List<Backend> excluded = raced;
            Backend picked = current.balancer().pick(tier,
                    b -> b.isAvailable() && !b.isFull() && !tried.contains(b)
                            && (excluded == null || !excluded.contains(b)), now);
            if (picked == null) {
                return null;
            }
            if (picked.tryAcquire()) {
                return picked;
            }
            // Another event loop took the last slot between the pick and now; pick again without it.
            raced = raced == null ? new ArrayList<>(2) : raced;
            raced.add(picked);
        }
        return null;
    }

    /** Explains why {@link #acquire} returned {@code null} for a session that tried {@code tried}. */
    public Shortage shortage(Collection<Backend> tried) {
        Members current = members;
        List<Backend> tier = hasAvailable(current.primaries()) ? current.primaries() : current.backups();
        if (!hasAvailable(tier)) {
            return Shortage.NO_BACKEND_UP;
        }
        for (Backend backend : tier) {
            if (backend.isAvailable() && !backend.isFull() && !tried.contains(backend)) {
                return Shortage.ALL_TRIED;
            }
        }
        boolean anyUntried = tier.stream().anyMatch(b -> b.isAvailable() && !tried.contains(b));
        return anyUntried ? Shortage.ALL_FULL : Shortage.ALL_TRIED;
    }

    /** Returns how many backends of the pool are healthy (whatever their administrative state). */
    public int upCount() {
        int up = 0;
        for (Backend backend : members.all()) {
            if (backend.isUp()) {
                up++;
            }
        }
        return up;
    }

    /** Returns the backend with this name, or {@code null}. */
    public Backend backend(String name) {
        for (Backend backend : members.all()) {
            if (backend.name().equals(name)) {
                return backend;
            }
        }
        return null;
    }

    /**
     * Applies new pool settings: backends with a known name keep their state and open sessions, new ones
     * are added, missing ones are dropped from the snapshot (their open sessions finish).
     *
     * @return the new snapshot
     */
    public Members reconfigure(PoolSettings settings) {
        Map<String, Backend> existing = new LinkedHashMap<>();
        for (Backend backend : members.all()) {
            existing.put(backend.name(), backend);
        }
        Members next = build(settings, existing);
        members = next;
        return next;
    }

    private static boolean hasAvailable(List<Backend> backends) {
        for (Backend backend : backends) {
            if (backend.isAvailable()) {
                return true;
            }
        }
        return false;
    }

    private static Members build(PoolSettings settings, Map<String, Backend> existing) {
        List<Backend> all = new ArrayList<>();
        List<Backend> primaries = new ArrayList<>();
        List<Backend> backups = new ArrayList<>();
        for (BackendSettings backendSettings : settings.backends()) {
            Backend backend = existing.get(backendSettings.name());
            if (backend == null || backend.isBackup() != backendSettings.backup()) {
                backend = new Backend(settings.name(), backendSettings.name(), backendSettings.address(),
                        backendSettings.weight(), backendSettings.maxConnections(), backendSettings.backup());
            } else {
                backend.reconfigure(backendSettings.address(), backendSettings.weight(),
                        backendSettings.maxConnections());
            }
            all.add(backend);
            (backend.isBackup() ? backups : primaries).add(backend);
        }
        return new Members(settings, List.copyOf(all), List.copyOf(primaries), List.copyOf(backups),
                Balancer.of(settings.balance()));
    }
}
