package io.smtplb.balance;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * Weighted least connections: picks the backend with the lowest {@code active / effectiveWeight}.
 *
 * <p>Ties are broken round-robin: each pick starts its scan one position after the previous one and keeps
 * the first backend with the lowest ratio, so equal idle relays alternate ({@code a b c a b c}) instead of
 * the first one taking every short session. With weights 2 and 1 and no finished sessions, the order of
 * picks is {@code a b a a b a ...}: a is picked while {@code active(a)/2 <= active(b)/1}.
 *
 * <p>Lock-free; called from every event loop. Two loops may pick the same backend at the same instant, which
 * costs one session of imbalance, never a wrong cap: slots are taken atomically afterwards.
 */
public final class LeastConnectionsBalancer implements Balancer {

    private final AtomicInteger rotation = new AtomicInteger();

    @Override
    public Backend pick(List<Backend> candidates, Predicate<Backend> eligible, long nowNanos) {
        int size = candidates.size();
        if (size == 0) {
            return null;
        }
        int start = Math.floorMod(rotation.getAndIncrement(), size);

        Backend best = null;
        long bestActive = 0;
        long bestWeight = 1;
        for (int i = 0; i < size; i++) {
            Backend candidate = candidates.get((start + i) % size);
            if (!eligible.test(candidate)) {
                continue;
            }
            long active = candidate.activeConnections();
            long weight = candidate.effectiveWeight(nowNanos);
            // active/weight < bestActive/bestWeight, without division.
            if (best == null || active * bestWeight < bestActive * weight) {
                best = candidate;
                bestActive = active;
                bestWeight = weight;
            }
        }
        return best;
    }
}
