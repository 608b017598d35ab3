package io.smtplb.balance;

import java.util.List;
import java.util.function.Predicate;

/**
 * A balancing algorithm: picks the backend for a new session among candidates.
 *
 * <p>Implementations are called concurrently from every event loop. They do not take connection slots: the
 * caller ({@link BackendPool}) takes a slot after the pick and picks again when the backend has just filled up.
 */
public interface Balancer {

    /**
     * Picks one backend among {@code candidates} that passes {@code eligible}.
     *
     * @param candidates backends of one tier (primaries or backups), in configuration order; the same list
     *                   instance is passed on every call until the pool changes
     * @param eligible   filter for this session: available, not full, not yet tried
     * @param nowNanos   current {@link System#nanoTime()}, for slow start
     * @return the backend, or {@code null} if none is eligible
     */
    Backend pick(List<Backend> candidates, Predicate<Backend> eligible, long nowNanos);

    /** Creates the balancer for an algorithm. */
    static Balancer of(io.smtplb.config.PoolSettings.BalanceAlgorithm algorithm) {
        return switch (algorithm) {
            case LEAST_CONNECTIONS -> new LeastConnectionsBalancer();
            case WEIGHTED_ROUND_ROBIN -> new WeightedRoundRobinBalancer();
        };
    }
}
