package io.smtplb.health;

/**
 * The cause of a failed health check, or of a passive failure seen on a live session.
 *
 * <p>One reason feeds the log line, the metric label and the admin API, so each constant has a fixed
 * {@link #label() label} in lower-case kebab style.
 */
public enum FailureReason {
    /** The TCP connect was rejected with a reset, because nothing listens on the port. */
    CONNECT_REFUSED("connect-refused"),
    /** The TCP connect did not complete within {@code connect-timeout}. */
    CONNECT_TIMEOUT("connect-timeout"),
    /** The TCP connect failed for another reason, such as no route to the host. */
    CONNECT_FAILED("connect-failed"),
    /** The relay did not complete its greeting within {@code greeting-timeout}. */
    GREETING_TIMEOUT("greeting-timeout"),
    /** The relay greeted with a 4xx code, such as {@code 421 4.3.2 busy}. */
    GREETING_4XX("greeting-4xx"),
    /** The relay greeted with a 5xx code, such as {@code 554 5.3.2 not accepting mail}. */
    GREETING_5XX("greeting-5xx"),
    /** The relay sent something that is not an SMTP reply, or a reply code that fits no step. */
    NOT_SMTP("not-smtp"),
    /** The reply to {@code EHLO} had a code other than 250. */
    EHLO_REJECTED("ehlo-rejected"),
    /** STARTTLS was required but not advertised, or rejected. */
    STARTTLS_UNAVAILABLE("starttls-unavailable"),
    /** The TLS handshake after STARTTLS failed, including certificate verification under {@code require}. */
    TLS_HANDSHAKE_FAILED("tls-handshake-failed"),
    /** The deep check's {@code MAIL FROM:<>}, {@code RCPT TO} or {@code RSET} was rejected. */
    DEEP_CHECK_REJECTED("deep-check-rejected"),
    /** The reply to {@code QUIT} had a code other than 221. */
    QUIT_REJECTED("quit-rejected"),
    /** A reply after the greeting did not arrive within {@code step-timeout}. */
    REPLY_TIMEOUT("reply-timeout"),
    /** The relay closed or reset the connection before the dialogue was over. */
    CLOSED_EARLY("closed-early"),
    /** The whole check took longer than {@code timeout}. */
    CHECK_TIMEOUT("check-timeout"),
    /**
     * A PROXY header was sent and the relay rejected it: it answered 5xx, or closed the connection, before a
     * valid greeting, or answered the first command after its greeting with 5xx.
     */
    PROXY_REJECTED("proxy-rejected");

    private final String label;

    FailureReason(String label) {
        this.label = label;
    }

    /** Returns the name used in log lines and as the {@code reason} metric label, such as {@code greeting-4xx}. */
    public String label() {
        return label;
    }

    @Override
    public String toString() {
        return label;
    }
}
