package io.smtplb.config;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;

/**
 * One listener: the addresses it binds, the pool it forwards to, and who may connect.
 *
 * @param name the listener's key under {@code smtplb.listeners}
 * @param binds addresses to bind; each gets its own server socket
 * @param pool name of the pool that receives this listener's clients
 * @param allow networks whose clients may connect; empty allows every address not denied
 * @param deny networks whose clients are rejected; the longest matching prefix of allow and deny wins
 * @param denyAction what a denied client gets
 * @param openRelayOk whether a public bind without an allow-list is accepted
 * @param acceptProxy whether clients must start with a PROXY protocol header (smtplb behind another balancer)
 * @param trustedProxies networks allowed to send a PROXY header when {@code acceptProxy} is on
 * @param acceptProxyTimeout maximum time to wait for the PROXY header
 * @param maxConnections maximum client connections open at once on this listener, 0 for no limit
 * @param maxConnectionsPerSource maximum connections open at once from one source address, 0 for no limit
 * @param maxConnectionRatePerSource new connections per second allowed from one source address, 0 for no limit
 * @param connectionRateBurst connections one source may open at once before the rate limit applies
 */
public record ListenerSettings(
        String name,
        List<InetSocketAddress> binds,
        String pool,
        List<Cidr> allow,
        List<Cidr> deny,
        DenyAction denyAction,
        boolean openRelayOk,
        boolean acceptProxy,
        List<Cidr> trustedProxies,
        Duration acceptProxyTimeout,
        int maxConnections,
        int maxConnectionsPerSource,
        double maxConnectionRatePerSource,
        int connectionRateBurst) {

    public ListenerSettings {
        binds = List.copyOf(binds);
        allow = List.copyOf(allow);
        deny = List.copyOf(deny);
        trustedProxies = List.copyOf(trustedProxies);
    }

    /** What a client from a denied address gets. */
    public enum DenyAction {
        /** A {@code 554 5.7.1} line, then a close. */
        REPLY,
        /** A close without a reply. */
        CLOSE
    }
}
