package io.smtplb.guard;

/**
 * What is known about one source address on one listener: its open connections and its token bucket for the
 * connection rate.
 *
 * <p>Guarded by its own monitor; the critical sections are a few arithmetic operations. An entry that the table
 * has evicted is marked {@code removed} under the same monitor, so a thread that still holds it retries with a
 * fresh entry instead of counting into a dead one.
 */
final class SourceEntry {

    private static final double NANOS_PER_SECOND = 1e9;

    private int open;
    private double tokens;
    private long refilledNanos;
    private double ratePerSecond;
    private int burst;
    private boolean removed;

    SourceEntry(int burst, long nowNanos) {
        this.tokens = burst;
        this.burst = burst;
        this.refilledNanos = nowNanos;
    }

    /**
     * Takes a connection slot and, when a rate applies, one token. Returns {@code null} when the entry was evicted
     * meanwhile and the caller must look the address up again.
     */
    synchronized Admission.Outcome tryAcquire(int maxOpen, double rate, int newBurst, long nowNanos) {
        if (removed) {
            return null;
        }
        ratePerSecond = rate;
        burst = newBurst;
        refill(nowNanos);
        if (maxOpen > 0 && open >= maxOpen) {
            return Admission.Outcome.SOURCE_LIMIT;
        }
        if (rate > 0 && tokens < 1) {
            return Admission.Outcome.SOURCE_RATE;
        }
        if (rate > 0) {
            tokens -= 1;
        }
        open++;
        return Admission.Outcome.ADMITTED;
    }

    synchronized void release() {
        open--;
    }

    /**
     * Marks the entry removed when it has no open connection and, unless {@code force}, its bucket has refilled,
     * so forgetting it changes nothing. Returns whether it was marked.
     */
    synchronized boolean evict(long nowNanos, boolean force) {
        if (open > 0) {
            return false;
        }
        refill(nowNanos);
        if (!force && ratePerSecond > 0 && tokens < burst) {
            return false;
        }
        removed = true;
        return true;
    }

    synchronized int open() {
        return open;
    }

    private void refill(long nowNanos) {
        long elapsed = nowNanos - refilledNanos;
        refilledNanos = nowNanos;
        if (elapsed > 0 && ratePerSecond > 0) {
            tokens = Math.min(burst, tokens + elapsed * ratePerSecond / NANOS_PER_SECOND);
        }
        tokens = Math.min(tokens, burst);
    }
}
