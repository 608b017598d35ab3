package io.smtplb.guard;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Per-source connection counts and rate buckets, bounded to {@code capacity} entries so that a flood from many
 * distinct addresses cannot exhaust the heap (an entry costs roughly 150 bytes, so the default 100,000 entries
 * take about 15 MB; an estimate from the object layout, not a measurement).
 *
 * <p>When a new address finds the table full, one sweep removes first the entries that carry no information
 * (no open connection and a full bucket), then, down to 90 % of the capacity, entries without open connections
 * whose bucket is still refilling, which forgets part of those sources' rate history. A sweep that reaches 90 %
 * leaves room for a tenth of the table, so its cost spreads over the inserts that follow. When every entry has
 * open connections the new address is rejected: the table then stands for at least {@code capacity} open
 * connections.
 *
 * <p>Thread-safe: lookups are lock-free, each entry has its own monitor, and sweeps are serialised.
 */
final class SourceTable {

    private static final Logger log = LoggerFactory.getLogger(SourceTable.class);

    private final ConcurrentHashMap<SourceKey, SourceEntry> entries = new ConcurrentHashMap<>();
    private final Object sweepLock = new Object();
    private final LogThrottle forcedEvictions = new LogThrottle(60_000);
    private volatile int capacity;

    SourceTable(int capacity) {
        this.capacity = capacity;
    }

    void setCapacity(int newCapacity) {
        capacity = newCapacity;
    }

    int size() {
        return entries.size();
    }

    /** Result of {@link #acquire}: the outcome, and the entry to release later when admitted. */
    record Result(Admission.Outcome outcome, SourceEntry entry) {
    }

    /** Counts one new connection from {@code key} when the per-source limits allow it. */
    Result acquire(SourceKey key, int maxOpen, double rate, int burst, long nowNanos) {
        for (;;) {
            SourceEntry entry = entries.get(key);
            if (entry == null) {
                if (entries.size() >= capacity && !makeRoom(nowNanos)) {
                    return new Result(Admission.Outcome.SOURCE_TABLE_FULL, null);
                }
                entry = entries.computeIfAbsent(key, k -> new SourceEntry(burst, nowNanos));
            }

            Admission.Outcome outcome = entry.tryAcquire(maxOpen, rate, burst, nowNanos);
            if (outcome == null) {
                entries.remove(key, entry);
                continue;
            }
            return new Result(outcome, outcome == Admission.Outcome.ADMITTED ? entry : null);
        }
    }

    /** Sweeps the table; returns whether there is room for one more entry afterwards. */
    private boolean makeRoom(long nowNanos) {
        synchronized (sweepLock) {
            int limit = capacity;
            if (entries.size() < limit) {
                return true;
            }
            int lowWater = limit - Math.max(1, limit / 10);
            sweep(nowNanos, false, lowWater);
            if (entries.size() > lowWater) {
                int forgotten = sweep(nowNanos, true, lowWater);
                logForcedEvictions(forgotten, limit);
            }
            return entries.size() < limit;
        }
    }

    /** Removes evictable entries until the table is down to {@code target}; returns how many were removed. */
    private int sweep(long nowNanos, boolean force, int target) {
        int removed = 0;
        Iterator<Map.Entry<SourceKey, SourceEntry>> it = entries.entrySet().iterator();
        while (it.hasNext() && (!force || entries.size() > target)) {
            Map.Entry<SourceKey, SourceEntry> next = it.next();
            if (next.getValue().evict(nowNanos, force)) {
                it.remove();
                removed++;
            }
        }
        return removed;
    }

    private void logForcedEvictions(int forgotten, int limit) {
        if (forgotten > 0 && forcedEvictions.tryLog(System.nanoTime())) {
            log.warn("source table full ({} addresses, limits.source-table-size): forgot the connection-rate "
                    + "history of {} addresses without open connections; {} similar sweeps in the last {} s",
                    limit, forgotten, forcedEvictions.takeSuppressed(), forcedEvictions.intervalSeconds());
        }
    }
}
