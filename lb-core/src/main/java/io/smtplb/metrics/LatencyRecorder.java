package io.smtplb.metrics;

import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

import java.util.concurrent.TimeUnit;

/**
 * Durations of one kind for one backend, kept in an HdrHistogram for exact percentiles in the state JSON.
 *
 * <p>{@link #recordNanos} is lock-free and allocation-free, so event loops call it on every session. Readers
 * fold what was recorded since the previous read into a histogram that covers the whole run, so the
 * percentiles describe every value recorded since the balancer started.
 *
 * <p>Values are kept in microseconds with two significant digits (at most 1 % error), from 1 µs to one hour;
 * longer values count as one hour. That costs about 80 KiB per recorder.
 */
public final class LatencyRecorder {

    private static final long HIGHEST_MICROS = TimeUnit.HOURS.toMicros(1);
    private static final int SIGNIFICANT_DIGITS = 2;

    private final Recorder recorder = new Recorder(1, HIGHEST_MICROS, SIGNIFICANT_DIGITS);
    private final Histogram sinceStart = new Histogram(1, HIGHEST_MICROS, SIGNIFICANT_DIGITS);
    private Histogram interval;

    /** Records one duration; safe from any thread. */
    public void recordNanos(long nanos) {
        long micros = Math.max(1, Math.min(HIGHEST_MICROS, TimeUnit.NANOSECONDS.toMicros(nanos)));
        recorder.recordValue(micros);
    }

    /** Returns the percentiles of every duration recorded so far. */
    // TODO: the percentiles cover the whole run, so a recent slowdown hardly moves them after weeks of uptime;
    // a window of recent intervals would need one histogram per interval (about 26 KiB each).
    public synchronized Percentiles percentiles() {
        interval = recorder.getIntervalHistogram(interval);
        sinceStart.add(interval);
        return Percentiles.of(sinceStart);
    }

    /**
     * Percentiles of recorded durations, in milliseconds.
     *
     * @param count number of recorded values
     * @param p50Millis median
     * @param p90Millis 90th percentile
     * @param p99Millis 99th percentile
     * @param p999Millis 99.9th percentile
     * @param maxMillis largest value
     */
    public record Percentiles(long count, double p50Millis, double p90Millis, double p99Millis, double p999Millis,
                              double maxMillis) {

        static Percentiles of(Histogram histogram) {
            return new Percentiles(histogram.getTotalCount(),
                    millisAt(histogram, 50.0), millisAt(histogram, 90.0), millisAt(histogram, 99.0),
                    millisAt(histogram, 99.9), histogram.getMaxValue() / 1000.0);
        }

        private static double millisAt(Histogram histogram, double percentile) {
            return histogram.getValueAtPercentile(percentile) / 1000.0;
        }
    }
}
