package io.smtplb.bench;

import io.smtplb.balance.Backend;
import io.smtplb.balance.BackendPool;
import io.smtplb.config.BackendSettings;
import io.smtplb.config.PoolSettings;
import io.smtplb.config.PoolSettings.BalanceAlgorithm;
import io.smtplb.health.HealthCheckSettings;
import io.smtplb.health.HealthCheckSettings.CheckType;
import io.smtplb.health.HealthCheckSettings.ProxyHeader;
import io.smtplb.health.HealthCheckSettings.TlsVerify;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Cost of choosing a backend for a new session: {@link BackendPool#acquire} (the balancer's pick plus taking
 * a connection slot) and the matching {@link Backend#release()} of an older session.
 *
 * <p>Inputs: 2, 8 or 64 backends, all healthy and ready, no connection cap, no slow start. Weights are drawn
 * uniformly from 1..10 with a fixed seed, so weighted round-robin has real work and every run uses the same
 * weights. Each thread keeps its {@value OpenSessions#OPEN_PER_THREAD} most recent sessions open: every pick
 * releases the oldest one, so least-connections compares non-zero counts spread by the algorithm itself
 * rather than a pool of idle relays. No backend was tried before ({@code tried} is empty), as for a
 * session's first connect attempt.
 *
 * <p>{@code pickUncontended} runs on one thread and is the baseline; {@code pickContended} runs the same pick
 * on two threads sharing the pool, as two event loops do. Their ratio is the cost of contention: the
 * weighted round-robin pick holds a lock, the least-connections pick does not.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class BackendPickBenchmark {

    private static final List<Backend> NONE_TRIED = List.of();

    @Param({"2", "8", "64"})
    public int backends;

    @Param({"LEAST_CONNECTIONS", "WEIGHTED_ROUND_ROBIN"})
    public BalanceAlgorithm algorithm;

    private BackendPool pool;

    /** The sessions one thread keeps open; a new pick releases the oldest. */
    @State(Scope.Thread)
    public static class OpenSessions {

        static final int OPEN_PER_THREAD = 32;

        private final Backend[] ring = new Backend[OPEN_PER_THREAD];
        private int next;

        Backend replaceOldest(Backend opened) {
            if (opened == null) {
                throw new IllegalStateException("acquire returned no backend from a pool of healthy, uncapped"
                        + " backends");
            }
            Backend oldest = ring[next];
            if (oldest != null) {
                oldest.release();
            }
            ring[next] = opened;
            next = (next + 1) % OPEN_PER_THREAD;
            return opened;
        }

        @TearDown
        public void releaseAll() {
            for (int i = 0; i < ring.length; i++) {
                if (ring[i] != null) {
                    ring[i].release();
                    ring[i] = null;
                }
            }
        }
    }

    @Setup
    public void createPool() {
        pool = new BackendPool(poolSettings(algorithm, backends));
    }

    @Benchmark
    @Threads(1)
    public Backend pickUncontended(OpenSessions open) {
        return open.replaceOldest(pool.acquire(NONE_TRIED));
    }

    @Benchmark
    @Threads(2)
    public Backend pickContended(OpenSessions open) {
        return open.replaceOldest(pool.acquire(NONE_TRIED));
    }

    static PoolSettings poolSettings(BalanceAlgorithm algorithm, int count) {
        Random weights = new Random(42);
        List<BackendSettings> backendSettings = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            InetSocketAddress address = new InetSocketAddress(InetAddress.getLoopbackAddress(), 20_000 + i);
            backendSettings.add(new BackendSettings("relay" + i, address, 1 + weights.nextInt(10), 0, false,
                    ProxyHeader.OFF));
        }
        return new PoolSettings("bench", algorithm, backendSettings, Duration.ofSeconds(5), 3, false,
                Duration.ofSeconds(30), Duration.ZERO, ProxyHeader.OFF, Duration.ZERO, Duration.ZERO,
                tcpHealthCheck());
    }

    private static HealthCheckSettings tcpHealthCheck() {
        return new HealthCheckSettings(CheckType.TCP, null, 0, "bench.invalid", Duration.ofSeconds(2),
                Duration.ofSeconds(1), Duration.ofSeconds(5), Duration.ZERO, 2, 3, Duration.ofSeconds(1),
                Duration.ofSeconds(30), Duration.ofSeconds(5), Duration.ofSeconds(60), false, TlsVerify.OFF, null,
                null, false, "postmaster", ProxyHeader.OFF);
    }
}
