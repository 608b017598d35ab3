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

    /** Called when a client connection was accepted on {@code listener}. */
    default void onAccepted(String listener) {
    }

    /** Called when a relay accepted the TCP connection, {@code connectNanos} after the connect began. */
    default void onBackendConnected(Backend backend, long connectNanos) {
    }

    /** Called when a TCP connect to a relay failed. */
    default void onBackendConnectFailed(Backend backend, String reason) {
    }

    /** Called when a relay's greeting was read, with its reply code, such as 220 or 421. */
    default void onGreeting(Backend backend, int code) {
    }

    /** Called when a session ended. {@code session} is complete and may be read but not kept. */
    default void onClosed(SessionRecord session) {
    }
}
