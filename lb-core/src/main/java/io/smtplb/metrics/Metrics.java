package io.smtplb.metrics;

import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.datapoints.GaugeDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.expositionformats.ExpositionFormatWriter;
import io.prometheus.metrics.expositionformats.ExpositionFormats;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Unit;
import io.smtplb.balance.Backend;
import io.smtplb.balance.BackendPool;
import io.smtplb.health.CheckedBackend;
import io.smtplb.health.HealthListener;
import io.smtplb.health.ProbeResult;
import io.smtplb.proxy.SessionObserver;

import java.io.IOException;
import java.io.OutputStream;
import java.time.Instant;
import java.util.Collection;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import java.util.function.ToDoubleFunction;

/**
 * Every smtplb metric, declared here once with its help text, and the registry that {@code GET /metrics}
 * exposes. docs/metrics.md lists them for operators.
 *
 * <p>Two kinds of metric live here. Counters and histograms are recorded as events happen, through
 * {@link #sessionObserver()} and {@link #healthListener()}, into data points resolved once per listener and
 * per backend ({@link ListenerMetrics}, {@link BackendMetrics}). Gauges that mirror runtime state (health,
 * administrative state, open connections, weights) are read from the live objects through a
 * {@link BalancerView} at scrape time, so they never drift from what the balancer does.
 *
 * <p>Data points are kept by pool, backend and listener name, so counters continue across reloads. The
 * series of a backend or listener that a reload removed stay at their last value until the process restarts.
 *
 * <pre>{@code
 * Metrics metrics = new Metrics(view);
 * SessionObserver observer = metrics.sessionObserver();   // hand to the ProxyServer
 * HealthListener health = metrics.healthListener();       // hand to the HealthChecker
 * String contentType = metrics.write(request.accept(), out);
 * }</pre>
 */
public final class Metrics {

    /** TCP connects: loopback takes well under a millisecond, a LAN a few, connect-timeout caps it (3 s). */
    private static final double[] CONNECT_BUCKETS =
            {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    /** Whole SMTP sessions: a printer's single message takes well under a second, bulk senders minutes. */
    private static final double[] SESSION_BUCKETS =
            {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800};
    /** Health checks: connect, greeting, EHLO and QUIT; STARTTLS adds a handshake; timeout caps it (30 s). */
    private static final double[] CHECK_BUCKETS =
            {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final ExpositionFormats formats = ExpositionFormats.init();
    private final BalancerView view;
    private final Map<String, ListenerMetrics> listeners = new ConcurrentHashMap<>();
    private final Map<String, Map<String, BackendMetrics>> backends = new ConcurrentHashMap<>();
    private volatile LongSupplier accessLogDropped = () -> 0;

    final Counter listenerConnections = counter("smtplb_listener_connections_total",
            "Client connections accepted by the listener.", "listener");
    final Counter listenerRejected = counter("smtplb_listener_rejected_total",
            "Client connections that no relay carried because the balancer turned them away, by reason "
                    + "(no-backend, over-limit, connect-failed, denied, ...).", "listener", "reason");
    final Counter listenerSessionsClosed = counter("smtplb_listener_sessions_closed_total",
            "Client sessions ended, by close reason.", "listener", "reason");
    final Counter backendConnections = counter("smtplb_backend_connections_total",
            "TCP connections to the backend that client sessions completed.", "pool", "backend");
    final Counter backendConnectFailures = counter("smtplb_backend_connect_failures_total",
            "TCP connects of client sessions to the backend that failed, by reason.", "pool", "backend", "reason");
    final Counter backendGreetings = counter("smtplb_backend_greeting_total",
            "Greetings read from the backend by client sessions, by SMTP reply code.", "pool", "backend", "code");
    final Counter backendBytes = counter("smtplb_backend_bytes_total",
            "Bytes forwarded between clients and the backend; direction from_client is client to backend, "
                    + "to_client is backend to client (greeting included).", "pool", "backend", "direction");
    final HistogramFamily backendConnectDuration = histogram("smtplb_backend_connect_duration_seconds",
            "Time for a client session's TCP connect to the backend.", CONNECT_BUCKETS);
    final HistogramFamily backendSessionDuration = histogram("smtplb_backend_session_duration_seconds",
            "Duration of client sessions carried by the backend, from accept to close.", SESSION_BUCKETS);
    final HistogramFamily backendCheckDuration = histogram("smtplb_backend_check_duration_seconds",
            "Duration of the backend's active health checks.", CHECK_BUCKETS);
    final Counter backendCheckFailures = counter("smtplb_backend_check_failures_total",
            "Active health checks of the backend that failed, by reason.", "pool", "backend", "reason");
    private final Counter configReloads = counter("smtplb_config_reloads_total",
            "Configuration reloads, by result: success (applied) or failure (invalid file, nothing changed).",
            "result");
    private final CounterDataPoint reloadSuccesses = configReloads.labelValues("success");
    private final CounterDataPoint reloadFailures = configReloads.labelValues("failure");
    private final GaugeDataPoint lastReloadSuccess = Gauge.builder()
            .name("smtplb_config_last_reload_success_timestamp_seconds")
            .help("Time the configuration was last loaded or reloaded successfully, in seconds since the epoch.")
            .unit(Unit.SECONDS).register(registry);

    /** Declares every metric in a new registry, including the JVM and process metrics. */
    public Metrics(BalancerView view) {
        this.view = view;
        registerListenerGauges();
        registerBackendGauges();
        registerHealthGauges();
        CounterWithCallback.builder()
                .name("smtplb_access_log_lines_dropped_total")
                .help("Access log lines dropped because the writer fell behind and its queue was full.")
                .callback(callback -> callback.call(accessLogDropped.getAsLong()))
                .register(registry);
        JvmMetrics.builder().register(registry);
        // Start-up counts as the first successful load, as Prometheus itself reports it.
        lastReloadSuccess.set(System.currentTimeMillis() / 1000.0);
    }

    /** Returns the observer that records client session events with lock-free updates only. */
    public SessionObserver sessionObserver() {
        return new SessionMetrics(this);
    }

    /** Returns the listener that records health check results. */
    public HealthListener healthListener() {
        return new HealthMetrics(this);
    }

    public PrometheusRegistry registry() {
        return registry;
    }

    /** Returns the metrics of a listener, creating its series on first use. */
    public ListenerMetrics listener(String name) {
        ListenerMetrics metrics = listeners.get(name);
        return metrics != null ? metrics : listeners.computeIfAbsent(name, n -> new ListenerMetrics(this, n));
    }

    /** Returns the metrics of a backend, creating its series on first use. */
    public BackendMetrics backend(String pool, String name) {
        Map<String, BackendMetrics> byName = backends.get(pool);
        if (byName == null) {
            byName = backends.computeIfAbsent(pool, p -> new ConcurrentHashMap<>());
        }
        BackendMetrics metrics = byName.get(name);
        return metrics != null ? metrics : byName.computeIfAbsent(name, n -> new BackendMetrics(this, pool, n));
    }

    /** Creates the series of every configured listener and backend, so they show 0 before the first event. */
    // TODO: nothing removes the series of a backend or listener that a reload dropped; they stay, frozen,
    // until a restart. Removing them needs to wait until the sessions they still carry have closed.
    public void declare(Collection<String> listenerNames, Map<String, BackendPool> pools) {
        listenerNames.forEach(this::listener);
        for (BackendPool pool : pools.values()) {
            for (Backend backend : pool.members().all()) {
                backend(pool.name(), backend.name());
            }
        }
    }

    /** Counts a configuration reload. */
    public void onReload(boolean applied) {
        if (!applied) {
            reloadFailures.inc();
            return;
        }
        reloadSuccesses.inc();
        lastReloadSuccess.set(System.currentTimeMillis() / 1000.0);
    }

    /** Sets where {@code smtplb_access_log_lines_dropped_total} is read from. */
    public void setAccessLogDropped(LongSupplier dropped) {
        this.accessLogDropped = dropped;
    }

    /**
     * Writes every metric in the format that the {@code Accept} header requests: OpenMetrics when it names
     * {@code application/openmetrics-text}, otherwise the Prometheus text format (0.0.4).
     *
     * @return the content type of what was written
     */
    public String write(String acceptHeader, OutputStream out) throws IOException {
        ExpositionFormatWriter writer = formats.findWriter(acceptHeader);
        if (!writer.isAvailable()) {
            // The protobuf format needs a library that is not on the class path; fall back to text.
            writer = formats.getOpenMetricsTextFormatWriter().accepts(acceptHeader)
                    ? formats.getOpenMetricsTextFormatWriter() : formats.getPrometheusTextFormatWriter();
        }
        writer.write(out, registry.scrape());
        return writer.getContentType();
    }

    private void registerListenerGauges() {
        GaugeWithCallback.builder()
                .name("smtplb_listener_connections_active")
                .help("Client sessions open now on the listener.")
                .labelNames("listener")
                .callback(callback -> listeners.values()
                        .forEach(listener -> callback.call(listener.activeSessions(), listener.name())))
                .register(registry);
        GaugeWithCallback.builder()
                .name("smtplb_listener_bound")
                .help("1 when every address of the configured listener is bound, else 0.")
                .labelNames("listener")
                .callback(callback -> view.listenerNames()
                        .forEach(name -> callback.call(view.isListenerBound(name) ? 1 : 0, name)))
                .register(registry);
    }

    private void registerBackendGauges() {
        backendGauge("smtplb_backend_up", "1 when the backend passes its health checks, 0 when it is down.",
                backend -> backend.isUp() ? 1 : 0);
        backendGauge("smtplb_backend_connections_active", "Client sessions the backend carries now.",
                Backend::activeConnections);
        backendGauge("smtplb_backend_weight", "Configured weight of the backend.", Backend::weight);
        backendGauge("smtplb_backend_effective_weight",
                "Weight the balancer uses now: the configured weight, lower during slow start.",
                backend -> backend.effectiveWeight(System.nanoTime()));
        GaugeWithCallback.builder()
                .name("smtplb_backend_admin_state")
                .help("Administrative state set by an operator: 1 for the current state (ready, drain, "
                        + "maintenance), 0 for the others.")
                .labelNames("pool", "backend", "state")
                .callback(callback -> forEachBackend(backend -> {
                    for (Backend.AdminState state : Backend.AdminState.values()) {
                        callback.call(backend.adminState() == state ? 1 : 0, backend.pool(), backend.name(),
                                state.name().toLowerCase(Locale.ROOT));
                    }
                }))
                .register(registry);
    }

    private void registerHealthGauges() {
        GaugeWithCallback.builder()
                .name("smtplb_backend_check_last_success")
                .help("1 when the backend's last active health check passed, 0 when it failed; absent before "
                        + "the first check.")
                .labelNames("pool", "backend")
                .callback(callback -> forEachBackend(backend -> {
                    ProbeResult last = lastResult(backend);
                    if (last != null) {
                        callback.call(last.passed() ? 1 : 0, backend.pool(), backend.name());
                    }
                }))
                .register(registry);
        GaugeWithCallback.builder()
                .name("smtplb_backend_check_last_timestamp_seconds")
                .help("Time the backend's last active health check completed, in seconds since the epoch.")
                .unit(Unit.SECONDS)
                .labelNames("pool", "backend")
                .callback(callback -> forEachBackend(backend -> {
                    CheckedBackend check = view.healthOf(backend);
                    Instant time = check == null ? null : check.lastCheckTime();
                    if (time != null) {
                        callback.call(time.toEpochMilli() / 1000.0, backend.pool(), backend.name());
                    }
                }))
                .register(registry);
        GaugeWithCallback.builder()
                .name("smtplb_backend_tls_cert_expiry_days")
                .help("Whole days until the certificate that the backend presented after STARTTLS in a health "
                        + "check expires, negative once expired; absent until a check completed a handshake.")
                .labelNames("pool", "backend")
                .callback(callback -> forEachBackend(backend -> {
                    Integer days = backend(backend.pool(), backend.name()).tlsDaysToExpiry();
                    if (days != null) {
                        callback.call(days, backend.pool(), backend.name());
                    }
                }))
                .register(registry);
    }

    private ProbeResult lastResult(Backend backend) {
        CheckedBackend check = view.healthOf(backend);
        return check == null ? null : check.lastResult();
    }

    private void backendGauge(String name, String help, ToDoubleFunction<Backend> value) {
        GaugeWithCallback.builder()
                .name(name)
                .help(help)
                .labelNames("pool", "backend")
                .callback(callback -> forEachBackend(backend ->
                        callback.call(value.applyAsDouble(backend), backend.pool(), backend.name())))
                .register(registry);
    }

    private void forEachBackend(java.util.function.Consumer<Backend> action) {
        for (BackendPool pool : view.pools().values()) {
            pool.members().all().forEach(action);
        }
    }

    private Counter counter(String name, String help, String... labelNames) {
        return Counter.builder()
                .name(name)
                .help(help)
                .labelNames(labelNames)
                .withoutExemplars()
                .register(registry);
    }

    /** Declares a classic histogram in seconds with one data point per backend. */
    private HistogramFamily histogram(String name, String help, double[] bucketsSeconds) {
        HistogramFamily family = new HistogramFamily(name, help, bucketsSeconds, "pool", "backend");
        registry.register(family);
        return family;
    }
}
