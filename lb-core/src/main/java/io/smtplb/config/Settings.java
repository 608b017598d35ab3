package io.smtplb.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The validated, immutable configuration of one running balancer, built once from {@code reference.conf}
 * and the user's file by {@link SettingsLoader}. Every value is explicit; no accessor supplies a default.
 *
 * @param source the file the settings were read from, for messages and reloads, or {@code null}
 * @param hostname host name used in the SMTP lines that smtplb writes itself (421, 554)
 * @param forwarding how bytes move between client and relay once a session is established
 * @param eventLoopThreads event loop threads, one per core when the file sets 0
 * @param listeners listeners by name, in file order
 * @param pools pools by name, in file order
 * @param timeouts session-wide timeouts
 * @param limits limits that apply across all listeners
 * @param admin the administration endpoint
 * @param accessLog the per-session access log
 */
public record Settings(
        Path source,
        String hostname,
        ForwardingMode forwarding,
        int eventLoopThreads,
        Map<String, ListenerSettings> listeners,
        Map<String, PoolSettings> pools,
        TimeoutSettings timeouts,
        LimitSettings limits,
        AdminSettings admin,
        AccessLogSettings accessLog) {

    public Settings {
        listeners = Collections.unmodifiableMap(new LinkedHashMap<>(listeners));
        pools = Collections.unmodifiableMap(new LinkedHashMap<>(pools));
    }

    /** How bytes are moved between client and relay. */
    public enum ForwardingMode {
        /** Zero-copy splice(2) between the two sockets; needs the epoll transport. */
        SPLICE,
        /** Ordinary reads into buffers and writes from them; works on every transport. */
        COPY
    }

    /**
     * Session-wide timeouts.
     *
     * @param idle time without a byte in either direction after which both sides are closed
     * @param shutdownDrain time open sessions get to finish after SIGTERM before they are closed
     */
    public record TimeoutSettings(Duration idle, Duration shutdownDrain) {
    }

    /**
     * Limits across all listeners.
     *
     * @param maxConnections maximum client connections open at once over all listeners, 0 for no limit
     * @param sourceTableSize maximum number of source addresses tracked for per-source limits
     */
    public record LimitSettings(int maxConnections, int sourceTableSize) {
    }

    /**
     * The HTTP administration endpoint: metrics, health, state, status page and the admin API.
     *
     * @param bind address to listen on, or {@code null} when the endpoint is disabled
     * @param token bearer token that POST requests must carry, or {@code null} for none
     */
    public record AdminSettings(java.net.InetSocketAddress bind, String token) {
        @Override
        public String toString() {
            return "AdminSettings[bind=" + bind + ", token=" + (token == null ? "none" : "(set)") + "]";
        }
    }

    /**
     * The access log: one line per finished session.
     *
     * @param enabled whether the lines are written
     * @param format line format
     * @param file file to append to, or {@code null} to write to standard output with the other logs
     */
    public record AccessLogSettings(boolean enabled, AccessLogFormat format, Path file) {
    }

    /** Format of an access log line. */
    public enum AccessLogFormat {
        LOGFMT,
        JSON
    }
}
