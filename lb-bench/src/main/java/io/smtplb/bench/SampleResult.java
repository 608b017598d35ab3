package io.smtplb.bench;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One sample of one target: what happened, over how long, and the CPU time its processes used meanwhile.
 *
 * @param target the target sampled
 * @param round the round, from 1; 0 for a hold run
 * @param stats the sessions' outcomes
 * @param elapsedNanos time from the first session's start to the last session's end
 * @param cpuSeconds CPU time of the target's processes during the sample, NaN when no PID was given
 * @param messageSize bytes of message content per session
 */
record SampleResult(Target target, int round, SampleStats stats, long elapsedNanos, double cpuSeconds,
                    int messageSize) {

    double seconds() {
        return elapsedNanos / 1e9;
    }

    double sessionsPerSecond() {
        return stats.successes() / seconds();
    }

    /** Returns message content delivered per second, in MB (10^6 bytes). */
    double megabytesPerSecond() {
        return stats.successes() * (double) messageSize / 1e6 / seconds();
    }

    /** Returns the target's CPU seconds per 10,000 successful sessions. */
    double cpuSecondsPer10kSessions() {
        return cpuSeconds / stats.successes() * 10_000;
    }

    /** Returns the target's CPU seconds per GB (10^9 bytes) of message content delivered. */
    double cpuSecondsPerGigabyte() {
        return cpuSeconds / (stats.successes() * (double) messageSize / 1e9);
    }

    Map<String, Long> failuresByLabel() {
        Map<String, Long> byLabel = new LinkedHashMap<>();
        stats.failures().forEach((kind, count) -> byLabel.put(kind.label(), count));
        return byLabel;
    }

    Map<String, String> failureDetailsByLabel() {
        Map<String, String> byLabel = new LinkedHashMap<>();
        stats.firstDetails().forEach((kind, detail) -> byLabel.put(kind.label(), detail));
        return byLabel;
    }
}
