package io.smtplb;

import io.smtplb.SmtpLoadBalancer.ReloadResult;
import io.smtplb.admin.AdminServer;
import io.smtplb.balance.Backend;
import io.smtplb.balance.BackendPool;
import io.smtplb.config.BackendSettings;
import io.smtplb.config.ConfigProblem;
import io.smtplb.config.InvalidConfigException;
import io.smtplb.config.ListenerSettings;
import io.smtplb.config.PoolSettings;
import io.smtplb.config.Settings;
import io.smtplb.config.SettingsLoader;
import io.smtplb.health.CheckedBackend;
import io.smtplb.health.HealthCheckSettings;
import io.smtplb.proxy.Addresses;
import io.smtplb.proxy.ListenerBindException;
import io.smtplb.proxy.ListenerContext;
import org.slf4j.Logger;

import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * One reload of a running balancer: compares the new settings with the running ones and applies the
 * difference, so that new sessions see the new configuration at once and open sessions keep theirs.
 *
 * <p>Order matters: pools first (a new listener may name a new pool), then listeners, then pools that no
 * listener uses any more are removed. Backends keep their runtime state (health, administrative state, open
 * sessions) when their name stays; removed backends stop being checked and their open sessions finish.
 * Called with the balancer's lock held, on the reload thread.
 */
final class ConfigReloader {

    private final SmtpLoadBalancer balancer;
    private final Logger log;
    private final List<String> changes = new ArrayList<>();
    private final List<String> needsRestart = new ArrayList<>();
    private final List<String> problems = new ArrayList<>();

    /** A backend's settings before the reload, captured because the backend object is updated in place. */
    private record Before(Backend backend, InetSocketAddress address, int weight, int maxConnections) {
        static Before of(Backend backend) {
            return new Before(backend, backend.address(), backend.weight(), backend.maxConnections());
        }
    }

    ConfigReloader(SmtpLoadBalancer balancer, Logger log) {
        this.balancer = balancer;
        this.log = log;
    }

    ReloadResult reload() {
        Path source = balancer.settings().source();
        if (source == null) {
            return rejected(List.of("the running configuration was not read from a file, so there is no file "
                    + "to read again"));
        }
        log.info("reloading the configuration from {}", source);
        try {
            return apply(SettingsLoader.load(source));
        } catch (InvalidConfigException e) {
            problems.addAll(e.problems().stream().map(ConfigProblem::toString).toList());
            problems.forEach(problem -> log.error("reload rejected: {}", problem));
            log.error("reload rejected: {} {} in {}; the running configuration stays in effect",
                    problems.size(), problems.size() == 1 ? "problem" : "problems", source);
            return rejected(problems);
        }
    }

    ReloadResult apply(Settings next) {
        Settings previous = balancer.settings();
        checkRestartOnly(next);
        applyPools(next);
        balancer.replaceSettings(next);
        applyListeners(previous, next);
        removePools(next);
        balancer.proxy().updateLimits(next.limits());
        applyAdminToken(next);
        applyAccessLog(next);
        balancer.metrics().declare(next.listeners().keySet(), balancer.pools());
        balancer.metrics().onReload(true);
        logOutcome(next);
        return new ReloadResult(true, changes, needsRestart, problems);
    }

    private ReloadResult rejected(List<String> reasons) {
        balancer.metrics().onReload(false);
        if (reasons != problems) {
            reasons.forEach(reason -> log.error("reload rejected: {}", reason));
        }
        return new ReloadResult(false, List.of(), List.of(), reasons);
    }

    // ---- settings that need a restart ---------------------------------------------------------------------

    private void checkRestartOnly(Settings next) {
        Settings startup = balancer.startupSettings();
        if (next.eventLoopThreads() != startup.eventLoopThreads()) {
            needsRestart("event-loop-threads", startup.eventLoopThreads(), next.eventLoopThreads());
        }
        if (next.forwarding() != startup.forwarding()) {
            needsRestart("forwarding", lower(startup.forwarding()), lower(next.forwarding()));
        }
        if (!Objects.equals(next.admin().bind(), startup.admin().bind())) {
            needsRestart("admin.bind", address(startup.admin().bind()), address(next.admin().bind()));
        }
    }

    private void needsRestart(String key, Object running, Object configured) {
        String note = key + ": " + running + " -> " + configured;
        needsRestart.add(note);
        log.warn("reload: {} needs a restart; {} stays in effect until then", note, running);
    }

    // ---- pools and backends -------------------------------------------------------------------------------

    private void applyPools(Settings next) {
        for (PoolSettings poolSettings : next.pools().values()) {
            BackendPool pool = balancer.poolNamed(poolSettings.name());
            if (pool == null) {
                balancer.addPool(poolSettings);
                changes.add("pool " + poolSettings.name() + " added with " + poolSettings.backends().size()
                        + " backends");
            } else {
                reconfigurePool(pool, poolSettings);
            }
        }
    }

    private void reconfigurePool(BackendPool pool, PoolSettings next) {
        PoolSettings old = pool.settings();
        Map<String, Before> before = new LinkedHashMap<>();
        for (Backend backend : pool.members().all()) {
            before.put(backend.name(), Before.of(backend));
        }

        BackendPool.Members members = pool.reconfigure(next);
        for (Backend backend : members.all()) {
            Before was = before.remove(backend.name());
            if (was == null || was.backend() != backend) {
                replaceBackend(pool, was, backend);
            } else {
                reconfigureBackend(old, next, was, backend);
            }
        }
        for (Before removed : before.values()) {
            balancer.unwatch(removed.backend());
            changes.add("backend " + removed.backend() + " removed; its "
                    + removed.backend().activeConnections() + " open sessions finish");
        }
        List<String> poolChanges = poolSettingChanges(old, next);
        if (!poolChanges.isEmpty()) {
            changes.add("pool " + pool.name() + ": " + String.join(", ", poolChanges) + " changed");
        }
    }

    /** Starts checking a new backend, or one rebuilt because its {@code backup} flag changed. */
    private void replaceBackend(BackendPool pool, Before was, Backend backend) {
        if (was != null) {
            balancer.unwatch(was.backend());
        }
        balancer.watch(pool, backend);
        changes.add("backend " + backend + (was == null ? " added" : " rebuilt: backup changed"));
    }

    private void reconfigureBackend(PoolSettings oldPool, PoolSettings pool, Before was, Backend backend) {
        CheckedBackend check = balancer.healthOf(backend);
        if (check != null) {
            try {
                check.reconfigure(backend.address(), SmtpLoadBalancer.healthSettingsFor(pool, backend));
            } catch (IllegalArgumentException e) {
                problems.add("backend " + backend + ": health check not changed: " + e.getMessage());
                log.error("reload: backend {}: health check settings not applied: {}", backend, e.getMessage());
            }
        }
        List<String> differences = new ArrayList<>();
        if (!was.address().equals(backend.address())) {
            differences.add("address " + Addresses.format(was.address()) + " -> "
                    + Addresses.format(backend.address()));
        }
        if (was.weight() != backend.weight()) {
            differences.add("weight " + was.weight() + " -> " + backend.weight());
        }
        if (was.maxConnections() != backend.maxConnections()) {
            differences.add("max-connections " + was.maxConnections() + " -> " + backend.maxConnections());
        }
        HealthCheckSettings.ProxyHeader oldHeader = sendProxyOf(oldPool, backend.name());
        HealthCheckSettings.ProxyHeader newHeader = sendProxyOf(pool, backend.name());
        if (oldHeader != newHeader) {
            differences.add("send-proxy " + lower(oldHeader) + " -> " + lower(newHeader));
        }
        if (!differences.isEmpty()) {
            changes.add("backend " + backend.pool() + "/" + backend.name() + ": " + String.join(", ", differences));
        }
    }

    /** Returns the PROXY header a backend of the pool gets, its own setting or the pool's. */
    private static HealthCheckSettings.ProxyHeader sendProxyOf(PoolSettings pool, String backend) {
        for (BackendSettings settings : pool.backends()) {
            if (settings.name().equals(backend)) {
                return settings.sendProxy();
            }
        }
        return pool.sendProxy();
    }

    private static List<String> poolSettingChanges(PoolSettings old, PoolSettings next) {
        List<String> keys = new ArrayList<>();
        compare(keys, "balance", old.balance(), next.balance());
        compare(keys, "connect-timeout", old.connectTimeout(), next.connectTimeout());
        compare(keys, "connect-attempts", old.connectAttempts(), next.connectAttempts());
        compare(keys, "greeting-failover", old.greetingFailover(), next.greetingFailover());
        compare(keys, "greeting-timeout", old.greetingTimeout(), next.greetingTimeout());
        compare(keys, "slow-start", old.slowStart(), next.slowStart());
        compare(keys, "send-proxy", old.sendProxy(), next.sendProxy());
        compare(keys, "tcp-user-timeout", old.tcpUserTimeout(), next.tcpUserTimeout());
        compare(keys, "tcp-keepalive", old.tcpKeepalive(), next.tcpKeepalive());
        // The check's PROXY header follows send-proxy, which is compared above; it is no health-check change.
        compare(keys, "health-check", old.healthCheck().withProxyHeader(HealthCheckSettings.ProxyHeader.OFF),
                next.healthCheck().withProxyHeader(HealthCheckSettings.ProxyHeader.OFF));
        return keys;
    }

    private static void compare(List<String> keys, String key, Object old, Object next) {
        if (!Objects.equals(old, next)) {
            keys.add(key);
        }
    }

    private void removePools(Settings next) {
        for (String name : List.copyOf(balancer.poolNames())) {
            if (!next.pools().containsKey(name)) {
                balancer.removePool(name);
                changes.add("pool " + name + " removed; its open sessions finish");
            }
        }
    }

    // ---- listeners ----------------------------------------------------------------------------------------

    private void applyListeners(Settings previous, Settings next) {
        for (ListenerSettings listener : next.listeners().values()) {
            ListenerContext running = balancer.proxy().context(listener.name());
            if (running == null) {
                bind(listener, "added");
            } else if (!running.listener().binds().equals(listener.binds())) {
                // The old sockets close first, because the new set may reuse some of their addresses.
                balancer.proxy().unbind(listener.name());
                bind(listener, "moved");
            } else {
                balancer.proxy().update(balancer.contextFor(listener));
                List<String> keys = listenerSettingChanges(previous.listeners().get(listener.name()), listener);
                if (!keys.isEmpty()) {
                    changes.add("listener " + listener.name() + ": " + String.join(", ", keys) + " changed");
                }
            }
        }
        for (String name : balancer.proxy().listenerNames()) {
            if (!next.listeners().containsKey(name)) {
                balancer.proxy().unbind(name);
                changes.add("listener " + name + " removed; its open sessions continue");
            }
        }
    }

    private static List<String> listenerSettingChanges(ListenerSettings old, ListenerSettings next) {
        List<String> keys = new ArrayList<>();
        if (old == null) {
            return keys;
        }
        compare(keys, "pool", old.pool(), next.pool());
        compare(keys, "allow", old.allow(), next.allow());
        compare(keys, "deny", old.deny(), next.deny());
        compare(keys, "deny-action", old.denyAction(), next.denyAction());
        compare(keys, "open-relay-ok", old.openRelayOk(), next.openRelayOk());
        compare(keys, "accept-proxy", old.acceptProxy(), next.acceptProxy());
        compare(keys, "trusted-proxies", old.trustedProxies(), next.trustedProxies());
        compare(keys, "accept-proxy-timeout", old.acceptProxyTimeout(), next.acceptProxyTimeout());
        compare(keys, "max-connections", old.maxConnections(), next.maxConnections());
        compare(keys, "max-connections-per-source", old.maxConnectionsPerSource(), next.maxConnectionsPerSource());
        compare(keys, "max-connection-rate-per-source", old.maxConnectionRatePerSource(),
                next.maxConnectionRatePerSource());
        compare(keys, "connection-rate-burst", old.connectionRateBurst(), next.connectionRateBurst());
        return keys;
    }

    private void bind(ListenerSettings listener, String verb) {
        try {
            balancer.proxy().bind(balancer.contextFor(listener));
            changes.add("listener " + listener.name() + " " + verb + " on "
                    + formatAll(balancer.proxy().boundAddresses(listener.name())));
        } catch (ListenerBindException e) {
            problems.add(e.getMessage());
            log.error("reload: {}; the listener is not accepting connections", e.getMessage());
        }
    }

    // ---- admin token and access log ----------------------------------------------------------------------

    private void applyAdminToken(Settings next) {
        AdminServer admin = balancer.adminServer();
        String token = next.admin().token();
        if (admin == null || Objects.equals(token, admin.token())) {
            return;
        }
        InetSocketAddress bind = balancer.startupSettings().admin().bind();
        if (token == null && !bind.getAddress().isLoopbackAddress()) {
            // A file with a loopback bind and no token is valid, but the running endpoint still listens on
            // the old address. Dropping the token there would open the API to anyone who can reach it.
            needsRestart.add("admin.token: removing the token while admin.bind is " + address(bind));
            log.warn("reload: admin.token is empty but the admin endpoint listens on {}; the old token stays "
                    + "until a restart", address(bind));
            return;
        }
        admin.setToken(token);
        changes.add(token == null ? "admin.token removed" : "admin.token changed");
    }

    private void applyAccessLog(Settings next) {
        boolean changed = !next.accessLog().equals(balancer.accessLog().settings());
        try {
            // Reopened even when unchanged, so that a file moved away by log rotation is created again.
            balancer.accessLog().reconfigure(next.accessLog());
            if (changed) {
                changes.add("access-log changed");
            }
        } catch (UncheckedIOException e) {
            problems.add(e.getMessage());
            log.error("reload: {}; the access log keeps its previous settings", e.getMessage());
        }
    }

    // ---- messages -----------------------------------------------------------------------------------------

    private void logOutcome(Settings next) {
        if (changes.isEmpty()) {
            log.info("configuration reloaded from {}: nothing changed for new sessions", next.source());
            return;
        }
        log.info("configuration reloaded from {}: {}", next.source(), String.join("; ", changes));
    }

    private static String lower(Enum<?> value) {
        return value.name().toLowerCase(Locale.ROOT);
    }

    private static String address(InetSocketAddress address) {
        return address == null ? "\"\" (disabled)" : Addresses.format(address);
    }

    private static String formatAll(List<InetSocketAddress> addresses) {
        List<String> formatted = new ArrayList<>();
        addresses.forEach(address -> formatted.add(Addresses.format(address)));
        return String.join(", ", formatted);
    }
}
