package io.smtplb.metrics;

import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.smtplb.proxy.CloseReason;

import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The data points of one listener, resolved once so that recording a session looks up no labels.
 *
 * <p>Called on event loops; every method is lock-free and allocates nothing.
 */
public final class ListenerMetrics {

    /**
     * Reasons that end a session without a relay because of the session itself, not a rejection: the
     * client left, the balancer stopped, or a socket failed. Every other reason of a session that no relay
     * carried counts as a rejection, including reasons added later (allow-lists, limits).
     */
    private static final Set<CloseReason> NOT_REJECTIONS = EnumSet.of(CloseReason.CLIENT_CLOSED,
            CloseReason.RELAY_CLOSED, CloseReason.IDLE_TIMEOUT, CloseReason.DRAINED, CloseReason.SHUTDOWN,
            CloseReason.ERROR);
    private static final CloseReason[] REASONS = CloseReason.values();

    private final String name;
    private final CounterDataPoint connections;
    private final CounterDataPoint[] closedByReason = new CounterDataPoint[REASONS.length];
    private final CounterDataPoint[] rejectedByReason = new CounterDataPoint[REASONS.length];
    private final AtomicInteger active = new AtomicInteger();

    ListenerMetrics(Metrics metrics, String name) {
        this.name = name;
        this.connections = metrics.listenerConnections.labelValues(name);
        for (CloseReason reason : REASONS) {
            closedByReason[reason.ordinal()] = metrics.listenerSessionsClosed.labelValues(name, reason.label());
            if (isRejection(reason)) {
                rejectedByReason[reason.ordinal()] = metrics.listenerRejected.labelValues(name, reason.label());
            }
        }
    }

    /** Returns whether a session that no relay carried and that ended for {@code reason} was rejected. */
    public static boolean isRejection(CloseReason reason) {
        return !NOT_REJECTIONS.contains(reason);
    }

    public String name() {
        return name;
    }

    /**
     * Returns the sessions of this listener that are open now, counted from the observer's accept and close
     * calls, which every session makes exactly once each.
     */
    public int activeSessions() {
        return active.get();
    }

    /** Returns the connections accepted since start. */
    public long acceptedConnections() {
        return connections.getLongValue();
    }

    void onAccepted() {
        connections.inc();
        active.incrementAndGet();
    }

    void onClosed(CloseReason reason, boolean carried) {
        active.decrementAndGet();
        closedByReason[reason.ordinal()].inc();
        CounterDataPoint rejected = rejectedByReason[reason.ordinal()];
        if (!carried && rejected != null) {
            rejected.inc();
        }
    }
}
