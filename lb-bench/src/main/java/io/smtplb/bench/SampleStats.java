package io.smtplb.bench;

import org.HdrHistogram.Histogram;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Outcome of one sample: latency histograms of the successful sessions, and failures by kind with the first
 * detail of each kind. Thread-safe: sessions on every event loop record into it.
 */
final class SampleStats implements SessionObserver {

    private final Histogram greetingMicros = new Histogram(TimeUnit.MINUTES.toMicros(5), 3);
    private final Histogram sessionMicros = new Histogram(TimeUnit.MINUTES.toMicros(5), 3);
    private final Map<FailureKind, Long> failures = new EnumMap<>(FailureKind.class);
    private final Map<FailureKind, String> firstDetails = new EnumMap<>(FailureKind.class);
    private long successes;
    private long held;

    @Override
    public synchronized void onSuccess(long greetingNanos, long sessionNanos) {
        successes++;
        greetingMicros.recordValue(clamp(greetingNanos));
        sessionMicros.recordValue(clamp(sessionNanos));
    }

    @Override
    public synchronized void onFailure(FailureKind kind, String detail) {
        failures.merge(kind, 1L, Long::sum);
        firstDetails.putIfAbsent(kind, detail);
    }

    @Override
    public synchronized void onHeld(long greetingNanos) {
        held++;
        greetingMicros.recordValue(clamp(greetingNanos));
    }

    synchronized long successes() {
        return successes;
    }

    synchronized long held() {
        return held;
    }

    synchronized long failureCount() {
        return failures.values().stream().mapToLong(Long::longValue).sum();
    }

    synchronized Map<FailureKind, Long> failures() {
        return new EnumMap<>(failures);
    }

    synchronized Map<FailureKind, String> firstDetails() {
        return new EnumMap<>(firstDetails);
    }

    /** Returns the time-to-greeting percentile in milliseconds, or NaN when no session was greeted. */
    synchronized double greetingMillis(double percentile) {
        return millis(greetingMicros, percentile);
    }

    /** Returns the session-time percentile in milliseconds, or NaN when no session succeeded. */
    synchronized double sessionMillis(double percentile) {
        return millis(sessionMicros, percentile);
    }

    private static double millis(Histogram histogram, double percentile) {
        if (histogram.getTotalCount() == 0) {
            return Double.NaN;
        }
        return histogram.getValueAtPercentile(percentile) / 1000.0;
    }

    private static long clamp(long nanos) {
        return Math.max(1, Math.min(TimeUnit.NANOSECONDS.toMicros(nanos), TimeUnit.MINUTES.toMicros(5)));
    }
}
