package io.smtplb.guard;

import io.smtplb.config.Cidr;
import io.smtplb.config.ListenerSettings;
import io.smtplb.config.ListenerSettings.DenyAction;
import io.smtplb.config.Settings.LimitSettings;
import io.smtplb.guard.Admission.Outcome;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

class ConnectionGuardTest {

    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

    private static ListenerSettings listener(String name, int max, int perSource, double rate, int burst,
                                             List<Cidr> allow, List<Cidr> deny) {
        return new ListenerSettings(name, List.of(), "relays", allow, deny, DenyAction.REPLY, false, false,
                List.of(), Duration.ofSeconds(3), max, perSource, rate, burst);
    }

    private static ListenerSettings limited(int max, int perSource, double rate, int burst) {
        return listener("smtp", max, perSource, rate, burst, List.of(), List.of());
    }

    private static byte[] ipv4(int a, int b, int c, int d) {
        return new byte[] {(byte) a, (byte) b, (byte) c, (byte) d};
    }

    @Test
    void deniedAddressTakesNoCounter() {
        ConnectionGuard guard = new ConnectionGuard(new LimitSettings(0, 100));
        ListenerSettings smtp = listener("smtp", 0, 1, 0, 1, List.of(Cidr.parse("10.0.0.0/8")), List.of());

        Admission admission = guard.admit(smtp, ipv4(192, 0, 2, 1), 0);

        assertThat(admission.outcome()).isEqualTo(Outcome.DENIED);
        assertThat(guard.openConnections()).isZero();
        assertThat(guard.trackedSources()).isZero();
    }

    @Test
    void globalLimitSpansListeners() {
        ConnectionGuard guard = new ConnectionGuard(new LimitSettings(2, 100));
        ListenerSettings a = listener("a", 0, 0, 0, 1, List.of(), List.of());
        ListenerSettings b = listener("b", 0, 0, 0, 1, List.of(), List.of());

        Admission first = guard.admit(a, ipv4(10, 0, 0, 1), 0);
        Admission second = guard.admit(b, ipv4(10, 0, 0, 2), 0);
        Admission third = guard.admit(a, ipv4(10, 0, 0, 3), 0);

        assertThat(first.admitted()).isTrue();
        assertThat(second.admitted()).isTrue();
        assertThat(third.outcome()).isEqualTo(Outcome.GLOBAL_LIMIT);
        assertThat(third.detail()).isEqualTo("limits.max-connections 2 reached");
        first.release();
        assertThat(guard.admit(a, ipv4(10, 0, 0, 3), 0).admitted()).isTrue();
    }

    @Test
    void listenerLimitGivesBackGlobalPlace() {
        ConnectionGuard guard = new ConnectionGuard(new LimitSettings(10, 100));
        ListenerSettings smtp = limited(1, 0, 0, 1);

        Admission first = guard.admit(smtp, ipv4(10, 0, 0, 1), 0);
        Admission second = guard.admit(smtp, ipv4(10, 0, 0, 2), 0);

        assertThat(first.admitted()).isTrue();
        assertThat(second.outcome()).isEqualTo(Outcome.LISTENER_LIMIT);
        assertThat(guard.openConnections()).isEqualTo(1);
        assertThat(guard.openConnections("smtp")).isEqualTo(1);
    }

    @Test
    void perSourceLimitCountsEachAddressApart() {
        ConnectionGuard guard = new ConnectionGuard(new LimitSettings(0, 100));
        ListenerSettings smtp = limited(0, 2, 0, 1);

        assertThat(guard.admit(smtp, ipv4(10, 0, 0, 1), 0).admitted()).isTrue();
        Admission second = guard.admit(smtp, ipv4(10, 0, 0, 1), 0);
        assertThat(second.admitted()).isTrue();
        Admission third = guard.admit(smtp, ipv4(10, 0, 0, 1), 0);
        assertThat(third.outcome()).isEqualTo(Outcome.SOURCE_LIMIT);
        assertThat(guard.admit(smtp, ipv4(10, 0, 0, 2), 0).admitted()).isTrue();

        second.release();
        second.release();
        assertThat(guard.admit(smtp, ipv4(10, 0, 0, 1), 0).admitted()).isTrue();
        assertThat(guard.admit(smtp, ipv4(10, 0, 0, 1), 0).outcome()).isEqualTo(Outcome.SOURCE_LIMIT);
    }

    @Test
    void rateLimitAllowsBurstThenRefills() {
        ConnectionGuard guard = new ConnectionGuard(new LimitSettings(0, 100));
        ListenerSettings smtp = limited(0, 0, 2.0, 3);
        byte[] source = ipv4(10, 0, 0, 1);

        for (int i = 0; i < 3; i++) {
            guard.admit(smtp, source, 0).release();
        }
        assertThat(guard.admit(smtp, source, 0).outcome()).isEqualTo(Outcome.SOURCE_RATE);
        assertThat(guard.admit(smtp, source, SECOND / 4).outcome()).isEqualTo(Outcome.SOURCE_RATE);

        // Two tokens per second: half a second refills one.
        assertThat(guard.admit(smtp, source, SECOND / 2).admitted()).isTrue();
        assertThat(guard.admit(smtp, source, SECOND / 2).outcome()).isEqualTo(Outcome.SOURCE_RATE);
        // A long pause refills up to the burst, not beyond.
        for (int i = 0; i < 3; i++) {
            assertThat(guard.admit(smtp, source, 60 * SECOND).admitted()).as("connection %d", i).isTrue();
        }
        assertThat(guard.admit(smtp, source, 60 * SECOND).outcome()).isEqualTo(Outcome.SOURCE_RATE);
    }

    @Test
    void rejectionByRateTakesNoConnectionPlace() {
        ConnectionGuard guard = new ConnectionGuard(new LimitSettings(0, 100));
        ListenerSettings smtp = limited(0, 0, 1.0, 1);
        byte[] source = ipv4(10, 0, 0, 1);

        Admission first = guard.admit(smtp, source, 0);
        Admission second = guard.admit(smtp, source, 0);

        assertThat(first.admitted()).isTrue();
        assertThat(second.outcome()).isEqualTo(Outcome.SOURCE_RATE);
        assertThat(second.detail()).isEqualTo("max-connection-rate-per-source 1.0/s with burst 1 exceeded");
        assertThat(guard.openConnections()).isEqualTo(1);
    }

    @Test
    void floodOfDistinctSourcesStaysWithinTableSize() {
        ConnectionGuard guard = new ConnectionGuard(new LimitSettings(0, 1_000));
        ListenerSettings smtp = limited(0, 5, 1.0, 5);

        for (int i = 0; i < 100_000; i++) {
            Admission admission = guard.admit(smtp, ipv4(10, i >> 16, (i >> 8) & 0xff, i & 0xff), i * 1000L);
            assertThat(admission.admitted()).as("source %d", i).isTrue();
            admission.release();
            assertThat(guard.trackedSources()).isLessThanOrEqualTo(1_000);
        }
        assertThat(guard.openConnections()).isZero();
    }

    @Test
    void idleSourcesAreEvictedBeforeActiveOnes() {
        ConnectionGuard guard = new ConnectionGuard(new LimitSettings(0, 10));
        ListenerSettings smtp = limited(0, 1, 0, 1);
        List<Admission> held = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            held.add(guard.admit(smtp, ipv4(10, 0, 0, i), 0));
        }
        for (int i = 5; i < 10; i++) {
            guard.admit(smtp, ipv4(10, 0, 0, i), 0).release();
        }

        Admission newcomer = guard.admit(smtp, ipv4(10, 0, 1, 0), 0);

        assertThat(newcomer.admitted()).isTrue();
        assertThat(guard.trackedSources()).isLessThanOrEqualTo(10);
        // The held sources are still tracked: a second connection from each is still over the limit.
        for (int i = 0; i < 5; i++) {
            assertThat(guard.admit(smtp, ipv4(10, 0, 0, i), 0).outcome()).isEqualTo(Outcome.SOURCE_LIMIT);
        }
    }

    @Test
    void fullTableOfConnectedSourcesRejectsNewSource() {
        ConnectionGuard guard = new ConnectionGuard(new LimitSettings(0, 3));
        ListenerSettings smtp = limited(0, 1, 0, 1);
        for (int i = 0; i < 3; i++) {
            assertThat(guard.admit(smtp, ipv4(10, 0, 0, i), 0).admitted()).isTrue();
        }

        Admission rejected = guard.admit(smtp, ipv4(10, 0, 0, 9), 0);

        assertThat(rejected.outcome()).isEqualTo(Outcome.SOURCE_TABLE_FULL);
        assertThat(guard.openConnections()).isEqualTo(3);
    }

    @Test
    void reloadedSettingsApplyToNewConnections() {
        ConnectionGuard guard = new ConnectionGuard(new LimitSettings(0, 100));
        ListenerSettings open = listener("smtp", 0, 0, 0, 1, List.of(), List.of());
        ListenerSettings closed = listener("smtp", 0, 0, 0, 1, List.of(), List.of(Cidr.parse("10.0.0.0/8")));

        Admission before = guard.admit(open, ipv4(10, 0, 0, 1), 0);
        Admission after = guard.admit(closed, ipv4(10, 0, 0, 1), 0);

        assertThat(before.admitted()).isTrue();
        assertThat(after.outcome()).isEqualTo(Outcome.DENIED);
        assertThat(guard.openConnections("smtp")).isEqualTo(1);
    }

    @Test
    void concurrentAdmitsAndReleasesBalanceOut() throws Exception {
        ConnectionGuard guard = new ConnectionGuard(new LimitSettings(50, 64));
        ListenerSettings smtp = limited(40, 3, 0, 1);
        ExecutorService threads = Executors.newFixedThreadPool(4);
        try {
            List<Future<Integer>> results = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int seed = t;
                results.add(threads.submit(() -> churn(guard, smtp, seed)));
            }
            int admitted = 0;
            for (Future<Integer> result : results) {
                admitted += result.get(60, TimeUnit.SECONDS);
            }
            assertThat(admitted).isPositive();
        } finally {
            threads.shutdownNow();
        }

        assertThat(guard.openConnections()).isZero();
        assertThat(guard.openConnections("smtp")).isZero();
    }

    /** Admits from 200 sources in turn, holding up to 8 admissions, and releases them all at the end. */
    private static int churn(ConnectionGuard guard, ListenerSettings smtp, int seed) {
        List<Admission> held = new ArrayList<>();
        int admitted = 0;
        for (int i = 0; i < 20_000; i++) {
            Admission admission = guard.admit(smtp, ipv4(10, seed, 0, (i * 7) % 200), System.nanoTime());
            if (admission.admitted()) {
                admitted++;
                held.add(admission);
            }
            if (held.size() > 8) {
                held.remove(0).release();
            }
            assertThat(guard.openConnections()).isLessThanOrEqualTo(50);
        }
        held.forEach(Admission::release);
        return admitted;
    }
}
