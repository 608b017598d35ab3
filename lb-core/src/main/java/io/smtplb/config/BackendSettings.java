package io.smtplb.config;

import io.smtplb.health.HealthCheckSettings.ProxyHeader;

import java.net.InetSocketAddress;

/**
 * One relay of a pool.
 *
 * @param name the backend's name, unique within its pool
 * @param address the relay's address; resolved when the settings are loaded
 * @param weight relative share of new sessions, 1..256
 * @param maxConnections maximum sessions open at once to this relay, 0 for no limit
 * @param backup whether the relay gets sessions only while no primary backend of the pool is up
 * @param sendProxy PROXY protocol header sent to this relay (the pool's setting unless overridden)
 */
public record BackendSettings(
        String name,
        InetSocketAddress address,
        int weight,
        int maxConnections,
        boolean backup,
        ProxyHeader sendProxy) {
}
