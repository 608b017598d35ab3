package io.smtplb.health;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * Health check settings of one pool, as read from {@code pools.<name>.health-check}.
 *
 * <p>Every field is set explicitly by the configuration loader from {@code reference.conf} and the user's
 * file; nothing here supplies a default of its own.
 *
 * @param type what the probe does: a full SMTP dialogue, a TCP connect only, or nothing
 * @param address host to probe instead of the backend's own address, or {@code null} to probe the backend
 * @param port port to probe instead of the backend's own port, or 0 to probe the backend's port
 * @param heloName the name sent with {@code EHLO}
 * @param interval time between two checks while the backend is steadily up
 * @param transitionInterval time between two checks while the backend is changing state (rising or falling)
 * @param downInterval time between two checks while the backend is down
 * @param jitter maximum random delay added to each interval, so that checks of many backends spread out
 * @param rise consecutive passes that bring a down backend up
 * @param fall consecutive failures that take an up backend down
 * @param connectTimeout maximum time for the TCP connect
 * @param greetingTimeout maximum time for the complete greeting, long enough for a postscreen greeting delay
 * @param stepTimeout maximum time for each reply after the greeting
 * @param timeout maximum time for the whole check
 * @param starttls whether to issue {@code STARTTLS} after {@code EHLO} and complete a TLS handshake
 * @param tlsVerify how the server certificate is verified after {@code STARTTLS}
 * @param tlsServerName SNI host name and name to verify, or {@code null} for the probed host
 * @param tlsCaFile PEM file of trusted certificates, or {@code null} for the JDK's default trust store
 * @param deepCheck whether to send {@code MAIL FROM:<>}, {@code RCPT TO} and {@code RSET} before {@code QUIT}
 * @param deepCheckRecipient the address sent with {@code RCPT TO} by the deep check
 * @param proxyHeader PROXY protocol header sent before anything else, matching what the backend expects
 */
public record HealthCheckSettings(
        CheckType type,
        String address,
        int port,
        String heloName,
        Duration interval,
        Duration transitionInterval,
        Duration downInterval,
        Duration jitter,
        int rise,
        int fall,
        Duration connectTimeout,
        Duration greetingTimeout,
        Duration stepTimeout,
        Duration timeout,
        boolean starttls,
        TlsVerify tlsVerify,
        String tlsServerName,
        Path tlsCaFile,
        boolean deepCheck,
        String deepCheckRecipient,
        ProxyHeader proxyHeader) {

    public HealthCheckSettings {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(heloName, "heloName");
        Objects.requireNonNull(interval, "interval");
        Objects.requireNonNull(transitionInterval, "transitionInterval");
        Objects.requireNonNull(downInterval, "downInterval");
        Objects.requireNonNull(jitter, "jitter");
        Objects.requireNonNull(connectTimeout, "connectTimeout");
        Objects.requireNonNull(greetingTimeout, "greetingTimeout");
        Objects.requireNonNull(stepTimeout, "stepTimeout");
        Objects.requireNonNull(timeout, "timeout");
        Objects.requireNonNull(tlsVerify, "tlsVerify");
        Objects.requireNonNull(proxyHeader, "proxyHeader");
        if (rise < 1 || fall < 1) {
            throw new IllegalArgumentException("rise: " + rise + ", fall: " + fall + " (expected: >= 1)");
        }
    }

    /** Returns a copy that sends the given PROXY header, for a backend that overrides its pool's setting. */
    public HealthCheckSettings withProxyHeader(ProxyHeader header) {
        return new HealthCheckSettings(type, address, port, heloName, interval, transitionInterval, downInterval,
                jitter, rise, fall, connectTimeout, greetingTimeout, stepTimeout, timeout, starttls, tlsVerify,
                tlsServerName, tlsCaFile, deepCheck, deepCheckRecipient, header);
    }

    /** What a health check does. */
    public enum CheckType {
        /** Greeting, EHLO, optional STARTTLS, QUIT, each step waiting for the complete reply. */
        SMTP,
        /** A TCP connect followed by a close. */
        TCP,
        /** No active check: the backend is up unless passive failures take it down. */
        NONE
    }

    /** How the certificate presented after STARTTLS is verified. */
    public enum TlsVerify {
        /** No verification; the handshake alone must succeed. */
        OFF,
        /** Verification failures are logged but the check passes. */
        WARN,
        /** Verification failures fail the check. */
        REQUIRE
    }

    /** PROXY protocol header written before any other byte on a connection to a backend. */
    public enum ProxyHeader {
        OFF,
        V1,
        V2
    }
}
