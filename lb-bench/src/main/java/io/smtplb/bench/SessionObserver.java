package io.smtplb.bench;

/**
 * Receives the outcome of client sessions. Called on the sessions' event loops, so implementations are
 * thread-safe; each session reports exactly one of {@link #onSuccess} and {@link #onFailure}.
 */
interface SessionObserver {

    /**
     * Reports a session that ended with a 221 reply to QUIT.
     *
     * @param greetingNanos time from the session's start to its complete greeting
     * @param sessionNanos time from the session's start to the 221 reply
     */
    void onSuccess(long greetingNanos, long sessionNanos);

    /** Reports a failed session; {@code detail} is the server's reply line or the error message. */
    void onFailure(FailureKind kind, String detail);

    /** Reports a held connection whose complete greeting arrived; the connection now stays idle. */
    default void onHeld(long greetingNanos) {
    }

    /** Reports a held connection that closed or failed after its greeting, in place of {@link #onFailure}. */
    default void onDroppedWhileHeld(FailureKind kind, String detail) {
        onFailure(kind, detail);
    }
}
