package io.smtplb.admin;

import io.smtplb.Main;
import io.smtplb.SmtpLoadBalancer;
import io.smtplb.balance.Backend;
import io.smtplb.balance.BackendPool;
import io.smtplb.config.ListenerSettings;
import io.smtplb.health.CheckedBackend;
import io.smtplb.health.ProbeResult;
import io.smtplb.metrics.BackendMetrics;
import io.smtplb.metrics.LatencyRecorder.Percentiles;
import io.smtplb.metrics.ListenerMetrics;
import io.smtplb.proxy.Addresses;

import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What the balancer looks like at one moment, captured once per request and rendered as the state JSON and
 * the status page, so both show the same facts.
 *
 * @param version smtplb's version
 * @param time when the state was captured
 * @param started when the balancer started
 * @param transport {@code epoll} or {@code nio}
 * @param forwarding forwarding mode in effect: {@code splice} or {@code copy}
 * @param openSessions client sessions open now over all listeners
 * @param listeners configured listeners, in file order
 * @param pools pools, in file order
 */
record BalancerState(String version, Instant time, Instant started, String transport, String forwarding,
                     int openSessions, List<ListenerState> listeners, List<PoolState> pools) {

    /**
     * One listener.
     *
     * @param bound whether every configured address has an open server socket
     * @param addresses the bound addresses, with the port the kernel chose when the configuration gives 0
     * @param activeSessions sessions of this listener open now
     * @param acceptedConnections connections accepted since start
     */
    record ListenerState(String name, String pool, boolean bound, List<String> addresses, int activeSessions,
                         long acceptedConnections) {
    }

    /**
     * One pool.
     *
     * @param backendsUp backends that pass their health checks
     * @param backendsAvailable backends that may receive new sessions: up and ready
     */
    record PoolState(String name, String balance, int backendsUp, int backendsAvailable,
                     List<BackendState> backends) {
    }

    /**
     * One backend.
     *
     * @param up whether it passes its health checks
     * @param adminState {@code ready}, {@code drain} or {@code maintenance}
     * @param activeConnections sessions it carries now
     * @param totalConnections sessions it received since start
     * @param maxConnections connection cap, 0 for none
     * @param lastCheck the last active health check, or {@code null} before the first
     * @param drainDeadline when open sessions will be closed by an operator's deadline, or {@code null}
     * @param tlsDaysToExpiry days until the certificate seen by the last TLS check expires, or {@code null}
     */
    record BackendState(String name, String address, boolean backup, boolean up, String adminState,
                        int activeConnections, long totalConnections, int maxConnections, int weight,
                        int effectiveWeight, CheckState lastCheck, Percentiles connectLatency,
                        Percentiles checkDuration, Instant drainDeadline, Integer tlsDaysToExpiry) {
    }

    /**
     * The last active health check of a backend.
     *
     * @param reason failure reason label, or {@code null} when it passed
     * @param detail the relay's words or the error, or a TLS warning on a pass, or {@code null}
     */
    record CheckState(Instant time, boolean passed, String reason, String detail, double durationMillis) {
    }

    /** Captures the state of a running balancer. */
    static BalancerState capture(SmtpLoadBalancer balancer, BackendAdmin admin) {
        List<ListenerState> listeners = new ArrayList<>();
        for (ListenerSettings listener : balancer.settings().listeners().values()) {
            listeners.add(listenerState(balancer, listener));
        }
        List<PoolState> pools = new ArrayList<>();
        for (BackendPool pool : balancer.pools().values()) {
            pools.add(poolState(balancer, admin, pool));
        }
        return new BalancerState(Main.version(), Instant.now(), balancer.startedAt(), balancer.transport().name(),
                balancer.forwarding().name().toLowerCase(Locale.ROOT), balancer.proxy().sessions().size(),
                listeners, pools);
    }

    private static ListenerState listenerState(SmtpLoadBalancer balancer, ListenerSettings listener) {
        List<String> addresses = new ArrayList<>();
        for (InetSocketAddress address : balancer.proxy().boundAddresses(listener.name())) {
            addresses.add(Addresses.format(address));
        }
        ListenerMetrics metrics = balancer.metrics().listener(listener.name());
        return new ListenerState(listener.name(), listener.pool(), balancer.proxy().isBound(listener.name()),
                addresses, metrics.activeSessions(), metrics.acceptedConnections());
    }

    private static PoolState poolState(SmtpLoadBalancer balancer, BackendAdmin admin, BackendPool pool) {
        List<BackendState> backends = new ArrayList<>();
        int up = 0;
        int available = 0;
        long now = System.nanoTime();
        for (Backend backend : pool.members().all()) {
            backends.add(backendState(balancer, admin, backend, now));
            up += backend.isUp() ? 1 : 0;
            available += backend.isAvailable() ? 1 : 0;
        }
        String balance = pool.settings().balance().name().toLowerCase(Locale.ROOT).replace('_', '-');
        return new PoolState(pool.name(), balance, up, available, backends);
    }

    private static BackendState backendState(SmtpLoadBalancer balancer, BackendAdmin admin, Backend backend,
                                             long nowNanos) {
        BackendMetrics metrics = balancer.metrics().backend(backend.pool(), backend.name());
        return new BackendState(backend.name(), Addresses.format(backend.address()), backend.isBackup(),
                backend.isUp(), backend.adminState().name().toLowerCase(Locale.ROOT),
                backend.activeConnections(), backend.totalConnections(), backend.maxConnections(),
                backend.weight(), backend.effectiveWeight(nowNanos), checkState(balancer.healthOf(backend)),
                metrics.connectLatency().percentiles(), metrics.checkLatency().percentiles(),
                admin.deadlineOf(backend), metrics.tlsDaysToExpiry());
    }

    private static CheckState checkState(CheckedBackend check) {
        if (check == null || check.lastResult() == null || check.lastCheckTime() == null) {
            return null;
        }
        ProbeResult result = check.lastResult();
        return new CheckState(check.lastCheckTime(), result.passed(),
                result.reason() == null ? null : result.reason().label(), result.detail(),
                result.duration().toNanos() / 1e6);
    }
}
