package io.smtplb.balance;

import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Smooth weighted round-robin: every pick adds each eligible backend's effective weight to its running
 * score, takes the backend with the highest score and subtracts the total weight from it.
 *
 * <p>Weights 5, 1, 1 for a, b, c give the cycle {@code a a b a c a a}: the heavy backend's turns are spread
 * through the cycle rather than sent in a burst, and over any whole cycle the counts match the weights
 * exactly (7000 picks give 5000, 1000, 1000).
 *
 * <p>Called from every event loop; picks are serialised by the instance lock, which is held for one pass
 * over the candidates.
 */
public final class WeightedRoundRobinBalancer implements Balancer {

    private final Map<Backend, long[]> scores = new IdentityHashMap<>();
    private List<Backend> knownCandidates;

    @Override
    public synchronized Backend pick(List<Backend> candidates, Predicate<Backend> eligible, long nowNanos) {
        if (candidates != knownCandidates) {
            scores.keySet().retainAll(new java.util.HashSet<>(candidates));
            knownCandidates = candidates;
        }

        Backend best = null;
        long[] bestScore = null;
        long total = 0;
        for (Backend candidate : candidates) {
            if (!eligible.test(candidate)) {
                continue;
            }
            long weight = candidate.effectiveWeight(nowNanos);
            long[] score = scores.computeIfAbsent(candidate, key -> new long[1]);
            score[0] += weight;
            total += weight;
            if (best == null || score[0] > bestScore[0]) {
                best = candidate;
                bestScore = score;
            }
        }
        if (best != null) {
            bestScore[0] -= total;
        }
        return best;
    }
}
