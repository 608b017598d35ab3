package io.smtplb.config;

import java.util.Collection;
import java.util.Optional;

/** Finds the known word closest to a misspelt one, for "did you mean" hints. */
final class Spelling {

    private Spelling() {
    }

    /**
     * Returns the candidate closest to {@code word}, if it is close enough to be a plausible typo.
     *
     * <p>A candidate qualifies when its edit distance to {@code word} is at most 2, or at most a third of
     * {@code word}'s length for longer words. Ties go to the candidate that comes first.
     */
    static Optional<String> closest(String word, Collection<String> candidates) {
        int maxDistance = Math.max(2, word.length() / 3);
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String candidate : candidates) {
            int distance = distance(word, candidate);
            if (distance < bestDistance) {
                best = candidate;
                bestDistance = distance;
            }
        }
        return bestDistance <= maxDistance ? Optional.ofNullable(best) : Optional.empty();
    }

    /**
     * Returns the optimal string alignment distance: insertions, deletions, substitutions and transpositions of
     * two adjacent characters each cost 1, so {@code weigth} is 1 away from {@code weight}.
     */
    static int distance(String a, String b) {
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) {
            d[i][0] = i;
        }
        for (int j = 0; j <= b.length(); j++) {
            d[0][j] = j;
        }

        for (int i = 1; i <= a.length(); i++) {
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                int best = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                boolean transposed = i > 1 && j > 1
                        && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1);
                if (transposed) {
                    best = Math.min(best, d[i - 2][j - 2] + 1);
                }
                d[i][j] = best;
            }
        }
        return d[a.length()][b.length()];
    }
}
