package io.smtplb.balance;

import io.smtplb.config.BackendSettings;
import io.smtplb.config.PoolSettings;
import io.smtplb.config.PoolSettings.BalanceAlgorithm;
import io.smtplb.health.HealthCheckSettings;
import io.smtplb.health.HealthCheckSettings.ProxyHeader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

class BalancerDistributionTest {

    @Test
    void weightedRoundRobinInterleavesFiveOneOne() {
        BackendPool pool = pool(BalanceAlgorithm.WEIGHTED_ROUND_ROBIN, backend("a", 5, 0, false),
                backend("b", 1, 0, false), backend("c", 1, 0, false));

        StringBuilder order = new StringBuilder();
        for (int i = 0; i < 7; i++) {
            order.append(pickAndRelease(pool).name());
        }

        assertThat(order.toString()).isEqualTo("aabacaa");
    }

    @Test
    void weightedRoundRobinIsExactOverWholeCycles() {
        BackendPool pool = pool(BalanceAlgorithm.WEIGHTED_ROUND_ROBIN, backend("a", 5, 0, false),
                backend("b", 1, 0, false), backend("c", 1, 0, false));

        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < 7000; i++) {
            counts.merge(pickAndRelease(pool).name(), 1, Integer::sum);
        }

        assertThat(counts).containsEntry("a", 5000).containsEntry("b", 1000).containsEntry("c", 1000);
    }

    @Test
    void leastConnectionsAlternatesBetweenEqualIdleRelays() {
        BackendPool pool = pool(BalanceAlgorithm.LEAST_CONNECTIONS, backend("a", 1, 0, false),
                backend("b", 1, 0, false), backend("c", 1, 0, false));

        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < 3000; i++) {
            counts.merge(pickAndRelease(pool).name(), 1, Integer::sum);
        }

        assertThat(counts).containsEntry("a", 1000).containsEntry("b", 1000).containsEntry("c", 1000);
    }

    @Test
    void leastConnectionsFillsInProportionToWeight() {
        BackendPool pool = pool(BalanceAlgorithm.LEAST_CONNECTIONS, backend("a", 3, 0, false),
                backend("b", 1, 0, false));

        List<Backend> held = new ArrayList<>();
        for (int i = 0; i < 400; i++) {
            held.add(pool.acquire(List.of()));
        }

        assertThat(pool.backend("a").activeConnections()).isEqualTo(300);
        assertThat(pool.backend("b").activeConnections()).isEqualTo(100);
        held.forEach(Backend::release);
        assertThat(pool.backend("a").activeConnections()).isZero();
    }

    @ParameterizedTest
    @EnumSource(BalanceAlgorithm.class)
    void maxConnectionsIsNeverExceeded(BalanceAlgorithm algorithm) {
        BackendPool pool = pool(algorithm, backend("a", 5, 2, false), backend("b", 1, 3, false));

        List<Backend> held = new ArrayList<>();
        for (Backend picked; (picked = pool.acquire(List.of())) != null; ) {
            held.add(picked);
        }

        assertThat(held).hasSize(5);
        assertThat(pool.backend("a").activeConnections()).isEqualTo(2);
        assertThat(pool.backend("b").activeConnections()).isEqualTo(3);
        assertThat(pool.shortage(List.of())).isEqualTo(BackendPool.Shortage.ALL_FULL);
    }

    @ParameterizedTest
    @EnumSource(BalanceAlgorithm.class)
    void backupsServeOnlyWhileNoPrimaryIsUp(BalanceAlgorithm algorithm) {
        BackendPool pool = pool(algorithm, backend("a", 1, 0, false), backend("b", 1, 0, false),
                backend("spare", 1, 0, true));

        for (int i = 0; i < 10; i++) {
            assertThat(pickAndRelease(pool).name()).isNotEqualTo("spare");
        }
        pool.backend("a").setUp(false, System.nanoTime(), 0);
        assertThat(pickAndRelease(pool).name()).isEqualTo("b");
        pool.backend("b").setUp(false, System.nanoTime(), 0);

        assertThat(pickAndRelease(pool).name()).isEqualTo("spare");

        pool.backend("a").setUp(true, System.nanoTime(), 0);
        assertThat(pickAndRelease(pool).name()).isEqualTo("a");
    }

    @ParameterizedTest
    @EnumSource(BalanceAlgorithm.class)
    void triedAndDrainedBackendsAreSkipped(BalanceAlgorithm algorithm) {
        BackendPool pool = pool(algorithm, backend("a", 1, 0, false), backend("b", 1, 0, false),
                backend("c", 1, 0, false));
        pool.backend("c").setAdminState(Backend.AdminState.DRAIN);

        Backend picked = pool.acquire(List.of(pool.backend("a")));

        assertThat(picked.name()).isEqualTo("b");
        assertThat(pool.acquire(List.of(pool.backend("a"), pool.backend("b")))).isNull();
        assertThat(pool.shortage(List.of(pool.backend("a"), pool.backend("b"))))
                .isEqualTo(BackendPool.Shortage.ALL_TRIED);
    }

    @Test
    void slowStartRampsWeightFromTenPercentToFull() {
        Backend backend = new Backend("p", "a", new InetSocketAddress("127.0.0.1", 25), 100, 0, false);
        long start = 1_000_000_000L;
        long window = Duration.ofSeconds(10).toNanos();
        backend.setUp(false, start, window);
        backend.setUp(true, start, window);

        assertThat(backend.effectiveWeight(start)).isEqualTo(10);
        assertThat(backend.effectiveWeight(start + window / 2)).isEqualTo(55);
        assertThat(backend.effectiveWeight(start + window)).isEqualTo(100);
    }

    @ParameterizedTest
    @EnumSource(BalanceAlgorithm.class)
    void concurrentPicksRespectCapsAcrossTwoThreads(BalanceAlgorithm algorithm) throws Exception {
        BackendPool pool = pool(algorithm, backend("a", 2, 50, false), backend("b", 1, 50, false));
        AtomicInteger taken = new AtomicInteger();
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 2; t++) {
            Thread thread = new Thread(() -> {
                awaitQuietly(start);
                for (int i = 0; i < 200; i++) {
                    if (pool.acquire(List.of()) != null) {
                        taken.incrementAndGet();
                    }
                }
            });
            thread.start();
            threads.add(thread);
        }

        start.countDown();
        for (Thread thread : threads) {
            thread.join(10_000);
        }

        assertThat(taken.get()).isEqualTo(100);
        assertThat(pool.backend("a").activeConnections()).isEqualTo(50);
        assertThat(pool.backend("b").activeConnections()).isEqualTo(50);
    }

    private static Backend pickAndRelease(BackendPool pool) {
        Backend picked = pool.acquire(List.of());
        picked.release();
        return picked;
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static BackendSettings backend(String name, int weight, int maxConnections, boolean backup) {
        return new BackendSettings(name, new InetSocketAddress("127.0.0.1", 2500 + name.length()), weight,
                maxConnections, backup, ProxyHeader.OFF);
    }

    static BackendPool pool(BalanceAlgorithm algorithm, BackendSettings... backends) {
        HealthCheckSettings health = new HealthCheckSettings(HealthCheckSettings.CheckType.NONE, null, 0, "lb.test",
                Duration.ofSeconds(2), Duration.ofSeconds(1), Duration.ofSeconds(5), Duration.ZERO, 2, 3,
                Duration.ofSeconds(3), Duration.ofSeconds(10), Duration.ofSeconds(10), Duration.ofSeconds(30), false,
                HealthCheckSettings.TlsVerify.OFF, null, null, false, "postmaster", ProxyHeader.OFF);
        return new BackendPool(new PoolSettings("p", algorithm, List.of(backends), Duration.ofSeconds(3), 3, true,
                Duration.ofSeconds(15), Duration.ZERO, ProxyHeader.OFF, Duration.ZERO, Duration.ZERO, health));
    }
}
