package io.smtplb.guard;

import io.smtplb.config.ListenerSettings;
import io.smtplb.config.Settings.LimitSettings;

import java.net.InetAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Decides whether a new client connection may proceed: the listener's allow and deny lists first, then the
 * connection limits, from the widest to the narrowest.
 *
 * <ol>
 *   <li>{@code allow} / {@code deny} of the listener (longest prefix wins), see {@link AccessList};</li>
 *   <li>{@code limits.max-connections}, open connections over all listeners;</li>
 *   <li>the listener's {@code max-connections};</li>
 *   <li>the listener's {@code max-connections-per-source} and {@code max-connection-rate-per-source} (a token
 *       bucket holding {@code connection-rate-burst} tokens), tracked in a table bounded by
 *       {@code limits.source-table-size}.</li>
 * </ol>
 *
 * A rejected connection takes nothing: counters taken by earlier checks are given back, and a denied address
 * never enters the source table. An admitted connection holds its place in every counter until
 * {@link Admission#release()}.
 *
 * <p>One guard serves all listeners and lives as long as the listening side, so counters survive a reload.
 * Thread-safe: every event loop admits on its own accept path. The checks cost a few atomic operations, one map
 * lookup when a per-source limit is set, and no lock unless the source table is full.
 */
public final class ConnectionGuard {

    private final AtomicInteger open = new AtomicInteger();
    private final ConcurrentHashMap<String, ListenerState> listeners = new ConcurrentHashMap<>();
    private final SourceTable sources;
    private volatile int maxConnections;

    /** Creates a guard with the global limits of {@code limits}. */
    public ConnectionGuard(LimitSettings limits) {
        this.maxConnections = limits.maxConnections();
        this.sources = new SourceTable(limits.sourceTableSize());
    }

    /** Applies new global limits, for a reload; open connections keep their places. */
    public void updateLimits(LimitSettings limits) {
        maxConnections = limits.maxConnections();
        sources.setCapacity(limits.sourceTableSize());
    }

    /**
     * Admits or rejects a connection from {@code client} on {@code listener}.
     *
     * @param listener the settings the session starts with
     * @param client the client's address; an IPv4-mapped IPv6 address counts as IPv4
     */
    public Admission admit(ListenerSettings listener, InetAddress client) {
        return admit(listener, Networks.bytesOf(client), System.nanoTime());
    }

    Admission admit(ListenerSettings listener, byte[] client, long nowNanos) {
        ListenerState state = listeners.computeIfAbsent(listener.name(), name -> new ListenerState());
        if (!state.accessList(listener).permits(client)) {
            return Admission.rejected(Admission.Outcome.DENIED, "address not allowed on listener " + listener.name());
        }

        int globalLimit = maxConnections;
        if (!tryIncrement(open, globalLimit)) {
            return Admission.rejected(Admission.Outcome.GLOBAL_LIMIT, "limits.max-connections " + globalLimit
                    + " reached");
        }
        if (!tryIncrement(state.open, listener.maxConnections())) {
            releaseGlobal();
            return Admission.rejected(Admission.Outcome.LISTENER_LIMIT, "max-connections "
                    + listener.maxConnections() + " of listener " + listener.name() + " reached");
        }
        if (!hasSourceLimits(listener)) {
            return Admission.admitted(this, state, null);
        }

        SourceTable.Result result = sources.acquire(SourceKey.of(listener.name(), client),
                listener.maxConnectionsPerSource(), listener.maxConnectionRatePerSource(),
                listener.connectionRateBurst(), nowNanos);
        if (result.outcome() == Admission.Outcome.ADMITTED) {
            return Admission.admitted(this, state, result.entry());
        }
        state.open.decrementAndGet();
        releaseGlobal();
        return Admission.rejected(result.outcome(), describeSourceRejection(result.outcome(), listener));
    }

    /** Returns the client connections admitted and not yet released, over all listeners. */
    public int openConnections() {
        return open.get();
    }

    /** Returns the admitted connections of one listener that are not yet released. */
    public int openConnections(String listener) {
        ListenerState state = listeners.get(listener);
        return state == null ? 0 : state.open.get();
    }

    /** Returns the number of source addresses tracked for per-source limits. */
    public int trackedSources() {
        return sources.size();
    }

    void releaseGlobal() {
        open.decrementAndGet();
    }

    private static boolean hasSourceLimits(ListenerSettings listener) {
        return listener.maxConnectionsPerSource() > 0 || listener.maxConnectionRatePerSource() > 0;
    }

    /** Increments {@code counter} unless it has reached {@code limit}; a limit of 0 means none. */
    private static boolean tryIncrement(AtomicInteger counter, int limit) {
        if (limit <= 0) {
            counter.incrementAndGet();
            return true;
        }
        for (;;) {
            int current = counter.get();
            if (current >= limit) {
                return false;
            }
            if (counter.compareAndSet(current, current + 1)) {
                return true;
            }
        }
    }

    private static String describeSourceRejection(Admission.Outcome outcome, ListenerSettings listener) {
        return switch (outcome) {
            case SOURCE_LIMIT -> "max-connections-per-source " + listener.maxConnectionsPerSource() + " reached";
            case SOURCE_RATE -> "max-connection-rate-per-source " + listener.maxConnectionRatePerSource()
                    + "/s with burst " + listener.connectionRateBurst() + " exceeded";
            default -> "limits.source-table-size reached with every tracked address connected";
        };
    }

    /** Open connections and the compiled access list of one listener, kept across reloads. */
    static final class ListenerState {
        final AtomicInteger open = new AtomicInteger();
        private volatile Rules rules;

        /** Returns the access list of {@code settings}, compiled once per settings object. */
        AccessList accessList(ListenerSettings settings) {
            Rules current = rules;
            if (current == null || current.settings != settings) {
                current = new Rules(settings, AccessList.of(settings.allow(), settings.deny()));
                rules = current;
            }
            return current.accessList;
        }
    }

    private record Rules(ListenerSettings settings, AccessList accessList) {
    }
}
