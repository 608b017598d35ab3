package io.smtplb;

import io.netty.channel.EventLoopGroup;
import io.smtplb.accesslog.AccessLog;
import io.smtplb.admin.AdminServer;
import io.smtplb.admin.BackendAdmin;
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
import io.smtplb.metrics.BalancerView;
import io.smtplb.metrics.Metrics;
import io.smtplb.proxy.CloseReason;
import io.smtplb.proxy.ListenerContext;
import io.smtplb.proxy.ProxyServer;
import io.smtplb.proxy.SessionObserver;
import io.smtplb.proxy.SessionRecord;
import io.smtplb.proxy.Transport;
import io.netty.util.concurrent.DefaultThreadFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * A running balancer: event loops, listeners, pools, health checks, metrics, the access log and the admin
 * endpoint.
 *
 * <p>Created by {@link #start(Settings, SessionObserver)}; reconfigured by {@link #reload()}, which applies a
 * changed file to new sessions without cutting open ones; stopped by {@link #shutdown(Duration)}, which stops
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
    /** The settings the process started with; the values that need a restart are read from here. */
    private final Settings startup;
    private final Instant startedAt = Instant.now();
    private final AccessLog accessLog;
    private final Metrics metrics;
    private final HealthListener healthMetrics;
    /** Runs reloads, which read files and resolve host names, away from the event loops. */
    private final ExecutorService reloadThread =
            Executors.newSingleThreadExecutor(new DefaultThreadFactory("smtplb-reload", true));
    private volatile Settings settings;
    private volatile HealthListener healthObserver;
    private volatile AdminServer admin;

    private SmtpLoadBalancer(Settings settings, Transport transport, SessionObserver observer) {
        // Opened first: a file that cannot be opened stops the start before any thread exists.
        this.accessLog = AccessLog.start(settings.accessLog());
        this.startup = settings;
        this.settings = settings;
        this.transport = transport;
        this.metrics = new Metrics(new View());
        this.healthMetrics = metrics.healthListener();
        metrics.setAccessLogDropped(accessLog::droppedLines);
        int threads = settings.eventLoopThreads() > 0 ? settings.eventLoopThreads()
                : Runtime.getRuntime().availableProcessors();
        this.group = transport.newGroup(threads, "smtplb-loop");
        SessionObserver observers = new ObserverChain(metrics.sessionObserver(), accessLog, observer);
        this.proxy = new ProxyServer(transport, group, threads, settings.limits(), observers);
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
            balancer.metrics.declare(settings.listeners().keySet(), balancer.pools());
            balancer.startAdmin();
        } catch (RuntimeException e) {
            balancer.close();
            throw e;
        }
        log.info("smtplb started: {} transport, {} forwarding, listeners: {}, pools: {}", transport.name(),
                balancer.forwardingMode().name().toLowerCase(), settings.listeners().keySet(),
                settings.pools().keySet());
        return balancer;
    }

    private ForwardingMode forwardingMode() {
        if (startup.forwarding() == ForwardingMode.SPLICE && !transport.isEpoll()) {
            return ForwardingMode.COPY;
        }
        return startup.forwarding();
    }

    private void startAdmin() {
        InetSocketAddress bind = startup.admin().bind();
        if (bind != null) {
            admin = AdminServer.start(this, transport, bind, startup.admin().token());
        }
    }

    private void startPools() {
        for (PoolSettings poolSettings : settings.pools().values()) {
            addPool(poolSettings);
        }
    }

    /** Creates a pool and starts checking its backends. */
    BackendPool addPool(PoolSettings poolSettings) {
        BackendPool pool = new BackendPool(poolSettings);
        pools.put(poolSettings.name(), pool);
        for (Backend backend : pool.members().all()) {
            watch(pool, backend);
        }
        return pool;
    }

    /** Stops checking a pool's backends and removes the pool; its open sessions finish. */
    void removePool(String name) {
        BackendPool pool = pools.remove(name);
        if (pool != null) {
            pool.members().all().forEach(this::unwatch);
        }
    }

    /** Returns the pool with this name, including one a reload is about to remove, or {@code null}. */
    BackendPool poolNamed(String name) {
        return pools.get(name);
    }

    /** Returns the names of every pool, including those a reload is about to remove. */
    List<String> poolNames() {
        return List.copyOf(pools.keySet());
    }

    private void bindListeners() {
        if (settings.forwarding() == ForwardingMode.SPLICE && !transport.isEpoll()) {
            log.warn("forwarding = splice needs the epoll transport; copying instead");
        }
        for (ListenerSettings listener : settings.listeners().values()) {
            proxy.bind(contextFor(listener));
        }
    }

    ListenerContext contextFor(ListenerSettings listener) {
        return new ListenerContext(listener, pools.get(listener.pool()), settings.hostname(), forwardingMode(),
                settings.timeouts().idle());
    }

    void watch(BackendPool pool, Backend backend) {
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

    /** Stops checking a backend that a reload removed; passive reports of its remaining sessions are ignored. */
    void unwatch(Backend backend) {
        CheckedBackend check = checks.remove(backend);
        if (check != null) {
            check.cancel();
        }
        backend.setPassiveHealth(Backend.PassiveHealth.NONE);
    }

    static HealthCheckSettings healthSettingsFor(PoolSettings pool, Backend backend) {
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
            healthMetrics.onCheckCompleted(ref, result);
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

    /** Returns the metrics that {@code GET /metrics} exposes. */
    public Metrics metrics() {
        return metrics;
    }

    /** Returns the access log, which a reload reopens. */
    public AccessLog accessLog() {
        return accessLog;
    }

    /** Returns when the balancer started. */
    public Instant startedAt() {
        return startedAt;
    }

    /** Returns the forwarding mode in effect: copy when the configuration asked for splice without epoll. */
    public ForwardingMode forwarding() {
        return forwardingMode();
    }

    /** Returns the settings the process started with, which hold the values that only a restart changes. */
    public Settings startupSettings() {
        return startup;
    }

    /** Returns the admin endpoint's address, or {@code null} when {@code admin.bind} is empty. */
    public InetSocketAddress adminAddress() {
        AdminServer server = admin;
        return server == null ? null : server.address();
    }

    /** Returns the operator actions on backends, or {@code null} when the admin endpoint is disabled. */
    public BackendAdmin backendAdmin() {
        AdminServer server = admin;
        return server == null ? null : server.backendAdmin();
    }

    AdminServer adminServer() {
        return admin;
    }

    /**
     * Rereads the configuration file ({@link Settings#source()}) and applies it to new sessions at once:
     * pools, backends, weights, health checks, listeners, limits, the admin token and the access log. Open
     * sessions keep the relay and settings they started with; counters continue. An invalid file changes
     * nothing; every problem is logged with file, line and key. Settings that need a restart
     * ({@code event-loop-threads}, {@code forwarding}, {@code admin.bind}) are logged and ignored.
     *
     * <p>Blocks while the file is read and host names are resolved, so it must not run on an event loop;
     * {@link #reloadAsync()} runs it on the reload thread.
     */
    public synchronized ReloadResult reload() {
        return new ConfigReloader(this, log).reload();
    }

    /** Applies settings that the caller loaded, exactly as {@link #reload()} applies a valid file. */
    public synchronized ReloadResult apply(Settings next) {
        return new ConfigReloader(this, log).apply(next);
    }

    /** Runs {@link #reload()} on the reload thread; SIGHUP and {@code POST /api/reload} use this. */
    public CompletableFuture<ReloadResult> reloadAsync() {
        return CompletableFuture.supplyAsync(this::reload, reloadThread);
    }

    void replaceSettings(Settings next) {
        this.settings = next;
    }

    /**
     * The outcome of a reload.
     *
     * @param applied whether the file took effect; {@code false} when it was invalid and nothing changed
     * @param changes what changed, one phrase each, such as {@code backend relays/mx3 added}
     * @param needsRestart changed settings that take effect only after a restart, such as
     *     {@code forwarding: splice -> copy}
     * @param problems why the file was rejected ({@code file:line: key: message}), or what could not be applied
     *     although the file was valid (a listener address already in use)
     */
    public record ReloadResult(boolean applied, List<String> changes, List<String> needsRestart,
                               List<String> problems) {
        public ReloadResult {
            changes = List.copyOf(changes);
            needsRestart = List.copyOf(needsRestart);
            problems = List.copyOf(problems);
        }
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
        AdminServer server = admin;
        if (server != null) {
            server.close();
        }
        reloadThread.shutdownNow();
        healthChecker.close();
        proxy.sessions().closeAll(CloseReason.SHUTDOWN);
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        // After the event loops stopped, so the lines of the sessions closed above are written too.
        accessLog.close();
    }

    /** The live state that the metrics read at scrape time. */
    private final class View implements BalancerView {
        @Override
        public Map<String, BackendPool> pools() {
            return SmtpLoadBalancer.this.pools();
        }

        @Override
        public CheckedBackend healthOf(Backend backend) {
            return checks.get(backend);
        }

        @Override
        public List<String> listenerNames() {
            return List.copyOf(settings.listeners().keySet());
        }

        @Override
        public boolean isListenerBound(String listener) {
            return proxy.isBound(listener);
        }
    }

    /**
     * Passes each session event to the metrics, the access log and the caller's observer, in that order. An
     * observer that throws is logged and does not stop the others or the session.
     */
    private static final class ObserverChain implements SessionObserver {
        private final SessionObserver[] observers;

        ObserverChain(SessionObserver... observers) {
            this.observers = observers;
        }

        @Override
        public void onAccepted(String listener) {
            for (SessionObserver observer : observers) {
                try {
                    observer.onAccepted(listener);
                } catch (RuntimeException e) {
                    failed(observer, e);
                }
            }
        }

        @Override
        public void onBackendConnected(Backend backend, long connectNanos) {
            for (SessionObserver observer : observers) {
                try {
                    observer.onBackendConnected(backend, connectNanos);
                } catch (RuntimeException e) {
                    failed(observer, e);
                }
            }
        }

        @Override
        public void onBackendConnectFailed(Backend backend, String reason) {
            for (SessionObserver observer : observers) {
                try {
                    observer.onBackendConnectFailed(backend, reason);
                } catch (RuntimeException e) {
                    failed(observer, e);
                }
            }
        }

        @Override
        public void onGreeting(Backend backend, int code) {
            for (SessionObserver observer : observers) {
                try {
                    observer.onGreeting(backend, code);
                } catch (RuntimeException e) {
                    failed(observer, e);
                }
            }
        }

        @Override
        public void onClosed(SessionRecord session) {
            for (SessionObserver observer : observers) {
                try {
                    observer.onClosed(session);
                } catch (RuntimeException e) {
                    failed(observer, e);
                }
            }
        }

        private static void failed(SessionObserver observer, RuntimeException e) {
            log.warn("session observer {} failed: {}", observer.getClass().getSimpleName(), e.toString(), e);
        }
    }

    private static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
