package io.smtplb;

import io.netty.channel.EventLoopGroup;
import io.smtplb.balance.Backend;
import io.smtplb.balance.BackendPool;
import io.smtplb.config.BackendSettings;
import io.smtplb.config.ListenerSettings;
import io.smtplb.config.PoolSettings;
import io.smtplb.config.Settings;
import io.smtplb.config.Settings.ForwardingMode;
import io.smtplb.health.BackendRef;
import io.smtplb.health.CheckedBackend;
import io.smtplb.health.FailureReason;
import io.smtplb.health.HealthChange;
import io.smtplb.health.HealthCheckSettings;
import io.smtplb.health.HealthChecker;
import io.smtplb.health.HealthListener;
import io.smtplb.health.HealthState;
import io.smtplb.health.ProbeResult;
import io.smtplb.proxy.CloseReason;
import io.smtplb.proxy.ListenerContext;
import io.smtplb.proxy.ProxyServer;
import io.smtplb.proxy.SessionObserver;
import io.smtplb.proxy.Transport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * A running balancer: event loops, listeners, pools, health checks.
 *
 * <p>Created by {@link #start(Settings, SessionObserver)}; stopped by {@link #shutdown(Duration)}, which stops
 * accepting, lets open sessions finish up to the drain deadline, then closes what remains.
 */
public final class SmtpLoadBalancer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(SmtpLoadBalancer.class);

    private final Transport transport;
    private final EventLoopGroup group;
    private final ProxyServer proxy;
    private final HealthChecker healthChecker;
    private final Map<String, BackendPool> pools = new ConcurrentHashMap<>();
    private final Map<Backend, CheckedBackend> checks = new ConcurrentHashMap<>();
    private volatile Settings settings;
    private volatile HealthListener healthObserver;

    private SmtpLoadBalancer(Settings settings, Transport transport, SessionObserver observer) {
        this.settings = settings;
        this.transport = transport;
        int threads = settings.eventLoopThreads() > 0 ? settings.eventLoopThreads()
                : Runtime.getRuntime().availableProcessors();
        this.group = transport.newGroup(threads, "smtplb-loop");
        this.proxy = new ProxyServer(transport, group, threads, observer);
        this.healthChecker = new HealthChecker(group, transport.socketChannelClass(), new HealthEvents());
    }

    /**
     * Starts a balancer on the transport this platform supports best.
     *
     * @throws io.smtplb.proxy.ListenerBindException when an address cannot be bound; nothing stays running
     */
    public static SmtpLoadBalancer start(Settings settings, SessionObserver observer) {
        return start(settings, Transport.detect(), observer);
    }

    /** Starts a balancer on the given transport; tests use it to run the same case on epoll and NIO. */
    public static SmtpLoadBalancer start(Settings settings, Transport transport, SessionObserver observer) {
        SmtpLoadBalancer balancer = new SmtpLoadBalancer(settings, transport, observer);
        try {
            balancer.startPools();
            balancer.bindListeners();
        } catch (RuntimeException e) {
            balancer.close();
            throw e;
        }
        log.info("smtplb started: {} transport, {} forwarding, {} listeners, {} pools", transport.name(),
                balancer.forwardingMode().name().toLowerCase(), settings.listeners().size(), settings.pools().size());
        return balancer;
    }

    private ForwardingMode forwardingMode() {
        if (settings.forwarding() == ForwardingMode.SPLICE && !transport.isEpoll()) {
            return ForwardingMode.COPY;
        }
        return settings.forwarding();
    }

    private void startPools() {
        for (PoolSettings poolSettings : settings.pools().values()) {
            BackendPool pool = new BackendPool(poolSettings);
            pools.put(poolSettings.name(), pool);
            for (Backend backend : pool.members().all()) {
                watch(pool, backend);
            }
        }
    }

    private void bindListeners() {
        if (settings.forwarding() == ForwardingMode.SPLICE && !transport.isEpoll()) {
            log.warn("forwarding = splice needs the epoll transport; copying instead");
        }
        for (ListenerSettings listener : settings.listeners().values()) {
            proxy.bind(contextFor(listener));
        }
    }

    private ListenerContext contextFor(ListenerSettings listener) {
        return new ListenerContext(listener, pools.get(listener.pool()), settings.hostname(), forwardingMode(),
                settings.timeouts().idle());
    }

    private void watch(BackendPool pool, Backend backend) {
        HealthCheckSettings healthSettings = healthSettingsFor(pool.settings(), backend);
        CheckedBackend check = healthChecker.register(new BackendRef(pool.name(), backend.name()),
                backend.address(), healthSettings, true);
        checks.put(backend, check);
        backend.setPassiveHealth(new Backend.PassiveHealth() {
            @Override
            public void failure(FailureReason reason, String detail) {
                check.reportPassiveFailure(reason, detail);
            }

            @Override
            public void success() {
                check.reportPassiveSuccess();
            }
        });
    }

    private static HealthCheckSettings healthSettingsFor(PoolSettings pool, Backend backend) {
        for (BackendSettings backendSettings : pool.backends()) {
            if (backendSettings.name().equals(backend.name())) {
                return pool.healthCheck().withProxyHeader(backendSettings.sendProxy());
            }
        }
        return pool.healthCheck();
    }

    /** Receives health transitions from the checker and applies them to the balancing state. */
    private final class HealthEvents implements HealthListener {
        @Override
        public void onHealthChange(HealthChange change) {
            BackendPool pool = pools.get(change.ref().pool());
            Backend backend = pool == null ? null : pool.backend(change.ref().backend());
            if (backend == null) {
                return;
            }
            boolean up = change.newState() == HealthState.UP;
            backend.setUp(up, System.nanoTime(), pool.settings().slowStart().toNanos());
            String line = change.describe() + "; " + pool.upCount() + " of " + pool.members().all().size()
                    + " backends up";
            if (up) {
                log.info(line);
            } else {
                log.warn(line);
            }
            if (pool.upCount() == 0) {
                log.warn("pool {} has no backend up: new clients get 421", pool.name());
            }
            HealthListener extra = healthObserver;
            if (extra != null) {
                extra.onHealthChange(change);
            }
        }

        @Override
        public void onCheckCompleted(BackendRef ref, ProbeResult result) {
            HealthListener extra = healthObserver;
            if (extra != null) {
                extra.onCheckCompleted(ref, result);
            }
        }
    }

    /** Registers a second receiver of health events, such as the metrics. */
    public void setHealthObserver(HealthListener observer) {
        this.healthObserver = observer;
    }

    public Settings settings() {
        return settings;
    }

    public Transport transport() {
        return transport;
    }

    public ProxyServer proxy() {
        return proxy;
    }

    /** Returns the pools by name, in configuration order. */
    public Map<String, BackendPool> pools() {
        Map<String, BackendPool> ordered = new LinkedHashMap<>();
        for (String name : settings.pools().keySet()) {
            BackendPool pool = pools.get(name);
            if (pool != null) {
                ordered.put(name, pool);
            }
        }
        return ordered;
    }

    /** Returns the health check handle of a backend, or {@code null}. */
    public CheckedBackend healthOf(Backend backend) {
        return checks.get(backend);
    }

    /**
     * Stops accepting, waits up to {@code drain} for open sessions to finish, closes the rest, and releases
     * every thread.
     */
    public void shutdown(Duration drain) {
        proxy.stopAccepting();
        int open = proxy.sessions().size();
        if (open > 0) {
            log.info("waiting up to {} s for {} open sessions to finish", drain.toSeconds(), open);
        }
        long deadline = System.nanoTime() + drain.toNanos();
        while (proxy.sessions().size() > 0 && System.nanoTime() < deadline) {
            sleepQuietly(50);
        }
        int remaining = proxy.sessions().size();
        if (remaining > 0) {
            log.warn("drain deadline reached: closing {} open sessions", remaining);
            proxy.sessions().closeAll(CloseReason.SHUTDOWN);
        }
        close();
    }

    @Override
    public void close() {
        proxy.stopAccepting();
        healthChecker.close();
        proxy.sessions().closeAll(CloseReason.SHUTDOWN);
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
