package io.smtplb.proxy;

import io.smtplb.balance.Backend;

/**
 * Receives the life events of client sessions, for metrics and the access log.
 *
 * <p>Methods are called on the session's event loop and must not block.
 */
public interface SessionObserver {

    /** An observer that ignores everything. */
    SessionObserver NONE = new SessionObserver() {
    };

    /** A client connection was accepted on {@code listener}. */
    default void onAccepted(String listener) {
    }

    /** A relay accepted the TCP connection after {@code connectNanos}. */
    default void onBackendConnected(Backend backend, long connectNanos) {
    }

    /** A TCP connect to a relay failed. */
    default void onBackendConnectFailed(Backend backend, String reason) {
    }

    /** A relay's greeting was read; {@code code} is its reply code, such as 220 or 421. */
    default void onGreeting(Backend backend, int code) {
    }

    /** A session ended; {@code session} is complete and may be read but not kept. */
    default void onClosed(SessionRecord session) {
    }
}
