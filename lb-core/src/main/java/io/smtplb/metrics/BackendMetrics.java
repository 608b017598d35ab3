package io.smtplb.metrics;

import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.smtplb.health.FailureReason;
import io.smtplb.health.ProbeResult;

import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The data points and latency recorders of one backend, resolved once so that recording a session looks up no
 * labels and allocates nothing.
 *
 * <p>Data points whose label value is only known when the event happens (a failure reason, a greeting code)
 * are resolved the first time each value is seen and cached here; the common connect failures are resolved
 * up front so that their series exist at 0. Called on event loops; every method is lock-free.
 */
public final class BackendMetrics {

    /** Greeting codes are three digits; anything outside 100..599 is counted without caching. */
    private static final int MAX_CACHED_CODE = 599;
    private static final int MIN_CACHED_CODE = 100;
    private static final FailureReason[] FAILURE_REASONS = FailureReason.values();
    static final int UNKNOWN_TLS_DAYS = Integer.MIN_VALUE;

    private final Metrics metrics;
    private final String pool;
    private final String name;
    private final CounterDataPoint connections;
    private final CounterDataPoint bytesFromClient;
    private final CounterDataPoint bytesToClient;
    private final HistogramFamily.Bucket connectDuration;
    private final HistogramFamily.Bucket sessionDuration;
    private final HistogramFamily.Bucket checkDuration;
    private final AtomicReferenceArray<CounterDataPoint> connectFailures =
            new AtomicReferenceArray<>(FAILURE_REASONS.length);
    private final AtomicReferenceArray<CounterDataPoint> checkFailures =
            new AtomicReferenceArray<>(FAILURE_REASONS.length);
    private final AtomicReferenceArray<CounterDataPoint> greetings =
            new AtomicReferenceArray<>(MAX_CACHED_CODE + 1);
    private final LatencyRecorder connectLatency = new LatencyRecorder();
    private final LatencyRecorder checkLatency = new LatencyRecorder();
    private volatile int tlsDaysToExpiry = UNKNOWN_TLS_DAYS;

    BackendMetrics(Metrics metrics, String pool, String name) {
        this.metrics = metrics;
        this.pool = pool;
        this.name = name;
        this.connections = metrics.backendConnections.labelValues(pool, name);
        this.bytesFromClient = metrics.backendBytes.labelValues(pool, name, "from_client");
        this.bytesToClient = metrics.backendBytes.labelValues(pool, name, "to_client");
        this.connectDuration = metrics.backendConnectDuration.dataPoint(pool, name);
        this.sessionDuration = metrics.backendSessionDuration.dataPoint(pool, name);
        this.checkDuration = metrics.backendCheckDuration.dataPoint(pool, name);
        // The two reasons a client session reports for a failed connect; their series start at 0.
        connectFailure(FailureReason.CONNECT_REFUSED);
        connectFailure(FailureReason.CONNECT_TIMEOUT);
    }

    public String pool() {
        return pool;
    }

    public String name() {
        return name;
    }

    /** Returns the TCP connect times of client sessions to this backend. */
    public LatencyRecorder connectLatency() {
        return connectLatency;
    }

    /** Returns the durations of this backend's health checks. */
    public LatencyRecorder checkLatency() {
        return checkLatency;
    }

    /** Returns the days until the certificate seen by the last TLS check expires, or {@code null} if none. */
    public Integer tlsDaysToExpiry() {
        int days = tlsDaysToExpiry;
        return days == UNKNOWN_TLS_DAYS ? null : days;
    }

    void onConnected(long connectNanos) {
        connections.inc();
        connectDuration.observe(connectNanos / 1e9);
        connectLatency.recordNanos(connectNanos);
    }

    void onConnectFailed(String reasonLabel) {
        FailureReason reason = reasonOf(reasonLabel);
        if (reason == null) {
            metrics.backendConnectFailures.labelValues(pool, name, reasonLabel).inc();
            return;
        }
        connectFailure(reason).inc();
    }

    void onGreeting(int code) {
        if (code < MIN_CACHED_CODE || code > MAX_CACHED_CODE) {
            metrics.backendGreetings.labelValues(pool, name, Integer.toString(code)).inc();
            return;
        }
        CounterDataPoint point = greetings.get(code);
        if (point == null) {
            point = metrics.backendGreetings.labelValues(pool, name, Integer.toString(code));
            greetings.set(code, point);
        }
        point.inc();
    }

    void onSessionClosed(long durationNanos, long fromClient, long toClient) {
        sessionDuration.observe(durationNanos / 1e9);
        if (fromClient > 0) {
            bytesFromClient.inc(fromClient);
        }
        if (toClient > 0) {
            bytesToClient.inc(toClient);
        }
    }

    void onCheckCompleted(ProbeResult result) {
        long nanos = result.duration().toNanos();
        checkDuration.observe(nanos / 1e9);
        checkLatency.recordNanos(nanos);
        if (!result.passed()) {
            cached(checkFailures, metrics.backendCheckFailures, result.reason()).inc();
        }
        if (result.tlsDaysToExpiry().isPresent()) {
            tlsDaysToExpiry = result.tlsDaysToExpiry().getAsInt();
        }
    }

    private CounterDataPoint connectFailure(FailureReason reason) {
        return cached(connectFailures, metrics.backendConnectFailures, reason);
    }

    /** Returns the data point for {@code reason}, resolving it on first use; a race resolves the same point. */
    private CounterDataPoint cached(AtomicReferenceArray<CounterDataPoint> cache, Counter family,
                                    FailureReason reason) {
        CounterDataPoint point = cache.get(reason.ordinal());
        if (point == null) {
            point = family.labelValues(pool, name, reason.label());
            cache.set(reason.ordinal(), point);
        }
        return point;
    }

    private static FailureReason reasonOf(String label) {
        for (FailureReason reason : FAILURE_REASONS) {
            if (reason.label().equals(label)) {
                return reason;
            }
        }
        return null;
    }
}
