package io.smtplb.guard;

/**
 * The result of {@link ConnectionGuard#admit} for one new client connection: admitted, with counters to release
 * when the connection ends, or rejected, with the rule that rejected it.
 *
 * <p>An admission is used by the one event loop that owns the connection; {@link #release()} is idempotent.
 */
public final class Admission {

    /** The reason a connection was admitted or rejected. */
    public enum Outcome {
        /** Every check passed. */
        ADMITTED,
        /** The listener's allow and deny lists reject the client's address. */
        DENIED,
        /** {@code limits.max-connections} connections are open over all listeners. */
        GLOBAL_LIMIT,
        /** The listener's {@code max-connections} connections are open. */
        LISTENER_LIMIT,
        /** The listener's {@code max-connections-per-source} connections are open from this address. */
        SOURCE_LIMIT,
        /** The address opened connections faster than {@code max-connection-rate-per-source} allows. */
        SOURCE_RATE,
        /** {@code limits.source-table-size} addresses with open connections are tracked already. */
        SOURCE_TABLE_FULL
    }

    private final Outcome outcome;
    private final String detail;
    private final ConnectionGuard guard;
    private final ConnectionGuard.ListenerState listener;
    private final SourceEntry source;
    private boolean released;

    private Admission(Outcome outcome, String detail, ConnectionGuard guard, ConnectionGuard.ListenerState listener,
                      SourceEntry source) {
        this.outcome = outcome;
        this.detail = detail;
        this.guard = guard;
        this.listener = listener;
        this.source = source;
    }

    static Admission admitted(ConnectionGuard guard, ConnectionGuard.ListenerState listener, SourceEntry source) {
        return new Admission(Outcome.ADMITTED, "admitted", guard, listener, source);
    }

    static Admission rejected(Outcome outcome, String detail) {
        return new Admission(outcome, detail, null, null, null);
    }

    /** Returns whether the connection was admitted, or the rule that rejected it. */
    public Outcome outcome() {
        return outcome;
    }

    /** Returns whether the connection may proceed. */
    public boolean admitted() {
        return outcome == Outcome.ADMITTED;
    }

    /** Returns the rule behind the outcome for log lines, such as {@code max-connections-per-source 5 reached}. */
    public String detail() {
        return detail;
    }

    /** Gives back the connection's place in every counter it took; does nothing for a rejection or a second call. */
    public void release() {
        if (released || outcome != Outcome.ADMITTED) {
            return;
        }
        released = true;
        if (source != null) {
            source.release();
        }
        listener.open.decrementAndGet();
        guard.releaseGlobal();
    }

    @Override
    public String toString() {
        return outcome + " (" + detail + ")";
    }
}
