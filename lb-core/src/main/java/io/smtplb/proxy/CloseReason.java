package io.smtplb.proxy;

/**
 * Why a client session ended. The same value feeds the access log, the metric label and the log line.
 */
public enum CloseReason {
    /** The client closed its side first (normally after QUIT). */
    CLIENT_CLOSED("client-closed"),
    /** The relay closed its side first (normally after its 221 reply). */
    RELAY_CLOSED("relay-closed"),
    /** Neither side sent a byte for {@code timeouts.idle}. */
    IDLE_TIMEOUT("idle-timeout"),
    /** Every relay tried failed to connect or to greet. */
    CONNECT_FAILED("connect-failed"),
    /** No relay of the pool was up. */
    NO_BACKEND("no-backend"),
    /** A connection limit was reached, on the balancer or on every relay. */
    OVER_LIMIT("over-limit"),
    /** The client's address is not allowed on the listener. */
    DENIED("denied"),
    /** An operator's drain deadline closed the session. */
    DRAINED("drained"),
    /** The balancer shut down before the session ended. */
    SHUTDOWN("shutdown"),
    /** A connection was reset or failed with an I/O error. */
    ERROR("error");

    private final String label;

    CloseReason(String label) {
        this.label = label;
    }

    /** Returns the lower-case name used in logs and metric labels. */
    public String label() {
        return label;
    }
}
