package io.smtplb.metrics;

import io.smtplb.balance.Backend;
import io.smtplb.proxy.SessionObserver;
import io.smtplb.proxy.SessionRecord;

/**
 * Records client session events into the listener and backend metrics. Runs on event loops: each call is two
 * map look-ups by name and a few lock-free increments, without allocation.
 */
final class SessionMetrics implements SessionObserver {

    private final Metrics metrics;

    SessionMetrics(Metrics metrics) {
        this.metrics = metrics;
    }

    @Override
    public void onAccepted(String listener) {
        metrics.listener(listener).onAccepted();
    }

    @Override
    public void onBackendConnected(Backend backend, long connectNanos) {
        metrics.backend(backend.pool(), backend.name()).onConnected(connectNanos);
    }

    @Override
    public void onBackendConnectFailed(Backend backend, String reason) {
        metrics.backend(backend.pool(), backend.name()).onConnectFailed(reason);
    }

    @Override
    public void onGreeting(Backend backend, int code) {
        metrics.backend(backend.pool(), backend.name()).onGreeting(code);
    }

    @Override
    public void onClosed(SessionRecord session) {
        boolean carried = session.backend() != null;
        metrics.listener(session.listener()).onClosed(session.reason(), carried);
        if (carried) {
            metrics.backend(session.pool(), session.backend())
                    .onSessionClosed(session.durationNanos(), session.bytesFromClient(), session.bytesToClient());
        }
    }
}
