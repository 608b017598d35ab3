package io.smtplb.config;

import io.smtplb.health.HealthCheckSettings;
import io.smtplb.health.HealthCheckSettings.ProxyHeader;

import java.time.Duration;
import java.util.List;

/**
 * One pool of relays and how clients are spread over them.
 *
 * @param name the pool's key under {@code smtplb.pools}
 * @param balance the balancing algorithm
 * @param backends the relays, in file order; names are unique within the pool
 * @param connectTimeout maximum time for one TCP connect to a relay
 * @param connectAttempts relays tried per client connection before the client gets a 421 line
 * @param greetingFailover whether the relay's greeting is read and checked before the client sees it
 * @param greetingTimeout maximum wait for a relay's complete greeting when greeting failover is on
 * @param slowStart time over which a backend that comes up ramps from low to full weight, zero for none
 * @param sendProxy PROXY protocol header sent to relays that do not override it
 * @param tcpUserTimeout TCP_USER_TIMEOUT on relay connections, zero to leave the kernel default
 * @param tcpKeepalive idle time before TCP keepalive probes start on relay connections, zero for none
 * @param healthCheck the active health check
 */
public record PoolSettings(
        String name,
        BalanceAlgorithm balance,
        List<BackendSettings> backends,
        Duration connectTimeout,
        int connectAttempts,
        boolean greetingFailover,
        Duration greetingTimeout,
        Duration slowStart,
        ProxyHeader sendProxy,
        Duration tcpUserTimeout,
        Duration tcpKeepalive,
        HealthCheckSettings healthCheck) {

    public PoolSettings {
        backends = List.copyOf(backends);
    }

    /** How a pool picks a backend for a new client. */
    public enum BalanceAlgorithm {
        LEAST_CONNECTIONS,
        WEIGHTED_ROUND_ROBIN
    }
}
