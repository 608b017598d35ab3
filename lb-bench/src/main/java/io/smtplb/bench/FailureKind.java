package io.smtplb.bench;

import java.io.IOException;
import java.net.ConnectException;

import io.netty.channel.ConnectTimeoutException;

/** The reason a load-test session failed. The label is the key in reports. */
enum FailureKind {
    /** The TCP connect got a reset: nothing listens, or the backlog overflowed. */
    CONNECT_REFUSED("connect-refused"),
    /** The TCP connect did not complete within the connect timeout. */
    CONNECT_TIMEOUT("connect-timeout"),
    /** The TCP connect failed otherwise, for example with no local port left. */
    CONNECT_ERROR("connect-error"),
    /** The session did not finish within the session timeout. */
    TIMEOUT("timeout"),
    /** The server sent a 4xx reply (for a balancer, often 421 when no relay could be reached). */
    REPLY_4XX("4xx"),
    /** The server sent a 5xx reply. */
    REPLY_5XX("5xx"),
    /** The server closed the connection before the 221 reply to QUIT. */
    CLOSED_EARLY("closed-early"),
    /** The connection was reset after it was established. */
    RESET("reset"),
    /** A reply could not be parsed, or its code did not fit the command. */
    PROTOCOL_ERROR("protocol-error"),
    /** Another I/O error on an established connection. */
    IO_ERROR("io-error"),
    /** Open loop only: the session was due but the in-flight cap was reached, so it was never started. */
    NOT_STARTED("not-started");

    private final String label;

    FailureKind(String label) {
        this.label = label;
    }

    String label() {
        return label;
    }

    /** Classifies the cause of a failed connect. */
    static FailureKind ofConnectFailure(Throwable cause) {
        if (cause instanceof ConnectTimeoutException) {
            return CONNECT_TIMEOUT;
        }
        if (cause instanceof ConnectException && String.valueOf(cause.getMessage()).contains("refused")) {
            return CONNECT_REFUSED;
        }
        return CONNECT_ERROR;
    }

    /** Classifies an exception raised on an established connection. */
    static FailureKind ofConnectionError(Throwable cause) {
        if (cause instanceof IOException && String.valueOf(cause.getMessage()).contains("reset")) {
            return RESET;
        }
        return IO_ERROR;
    }
}
