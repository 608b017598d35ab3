package io.smtplb.guard;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Lets one log line through per interval and counts the ones held back, so that a flood of the same event
 * (rejected clients, failed accepts) costs one line per interval instead of one per event.
 *
 * <p>Thread-safe without locks: event loops call it on the accept path.
 */
public final class LogThrottle {

    private final long intervalNanos;
    private final AtomicLong nextLineNanos;
    private final AtomicLong suppressed = new AtomicLong();

    /** Creates a throttle that lets the first event through at once, then one per {@code intervalMillis}. */
    public LogThrottle(long intervalMillis) {
        this.intervalNanos = TimeUnit.MILLISECONDS.toNanos(intervalMillis);
        this.nextLineNanos = new AtomicLong(System.nanoTime() - intervalNanos);
    }

    /**
     * Records one event and returns whether its line should be written now. When it returns {@code true}, call
     * {@link #takeSuppressed()} for the number of lines held back since the previous one.
     */
    public boolean tryLog(long nowNanos) {
        long next = nextLineNanos.get();
        if (nowNanos - next >= 0 && nextLineNanos.compareAndSet(next, nowNanos + intervalNanos)) {
            return true;
        }
        suppressed.incrementAndGet();
        return false;
    }

    /** Returns and resets the number of events held back since the last line. */
    public long takeSuppressed() {
        return suppressed.getAndSet(0);
    }

    /** Returns the interval in seconds, for log lines that state it. */
    public long intervalSeconds() {
        return TimeUnit.NANOSECONDS.toSeconds(intervalNanos);
    }
}
