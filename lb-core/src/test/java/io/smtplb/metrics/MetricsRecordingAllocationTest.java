package io.smtplb.metrics;

import io.smtplb.balance.Backend;
import io.smtplb.health.BackendRef;
import io.smtplb.health.FailureReason;
import io.smtplb.health.HealthListener;
import io.smtplb.health.ProbeResult;
import io.smtplb.proxy.CloseReason;
import io.smtplb.proxy.SessionObserver;
import io.smtplb.proxy.SessionRecord;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.OptionalInt;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Recording the metrics of a session on an event loop allocates nothing: data points are resolved once per
 * backend and listener, and HdrHistogram's recorder writes into preallocated counts.
 */
class MetricsRecordingAllocationTest {

    private static final int WARM_UP_SESSIONS = 50_000;
    private static final int MEASURED_SESSIONS = 200_000;
    /** Slack for the measurement itself (the MXBean call); far below one byte per session. */
    private static final long ALLOWED_BYTES = 16 * 1024;

    private final Metrics metrics = new Metrics(BalancerView.EMPTY);
    private final SessionObserver observer = metrics.sessionObserver();
    private final HealthListener health = metrics.healthListener();
    private final Backend backend = new Backend("relays", "mx1", new InetSocketAddress("127.0.0.1", 2525), 1, 0,
            false);
    private final BackendRef ref = new BackendRef("relays", "mx1");
    private final SessionRecord carried = new SessionRecord("00000001", 0, new InetSocketAddress("127.0.0.1", 40000),
            "smtp", "relays", "mx1", backend.address(), 1, 420_000, 220, 150_000_000, 1843, 412,
            CloseReason.RELAY_CLOSED);
    private final SessionRecord rejected = new SessionRecord("00000002", 0, new InetSocketAddress("127.0.0.1", 40001),
            "smtp", "relays", null, null, 0, -1, 0, 300_000, 0, 0, CloseReason.NO_BACKEND);
    private final ProbeResult failedCheck = ProbeResult.fail(FailureReason.GREETING_4XX, "greeting was \"421\"",
            Duration.ofMillis(12), OptionalInt.empty());

    @Test
    void recordingAllocatesNothing() {
        com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long thread = Thread.currentThread().getId();
        record(WARM_UP_SESSIONS);

        long before = threads.getThreadAllocatedBytes(thread);
        record(MEASURED_SESSIONS);
        long allocated = threads.getThreadAllocatedBytes(thread) - before;

        assertThat(allocated).as("bytes allocated while recording %d sessions", MEASURED_SESSIONS)
                .isLessThan(ALLOWED_BYTES);
        assertThat(metrics.listener("smtp").acceptedConnections()).isEqualTo(2L * (WARM_UP_SESSIONS + MEASURED_SESSIONS));
        assertThat(metrics.backend("relays", "mx1").connectLatency().percentiles().count())
                .isEqualTo(WARM_UP_SESSIONS + MEASURED_SESSIONS);
    }

    /** Records the events of one carried session, one rejected session and one failed health check, {@code n} times. */
    private void record(int n) {
        for (int i = 0; i < n; i++) {
            observer.onAccepted("smtp");
            observer.onBackendConnectFailed(backend, FailureReason.CONNECT_REFUSED.label());
            observer.onBackendConnected(backend, 420_000 + i % 1000);
            observer.onGreeting(backend, 220);
            observer.onClosed(carried);
            observer.onAccepted("smtp");
            observer.onClosed(rejected);
            health.onCheckCompleted(ref, failedCheck);
        }
    }
}
