package io.smtplb.bench;

import io.smtplb.balance.Backend;
import io.smtplb.metrics.BalancerView;
import io.smtplb.metrics.Metrics;
import io.smtplb.proxy.CloseReason;
import io.smtplb.proxy.SessionObserver;
import io.smtplb.proxy.SessionRecord;

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
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import java.net.InetSocketAddress;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Cost of recording one client session's metrics on the event loop: the calls that a session makes on its
 * {@link SessionObserver} (accepted, relay connected, greeting read, closed), as {@link Metrics} records them
 * into counters, classic histograms and the HdrHistogram recorder of the backend.
 *
 * <p>Inputs: one listener and 1 or 64 backends of one pool; sessions visit the backends in turn, so with 64
 * the per-backend data points do not all stay in the CPU cache. Connect times are drawn log-uniformly from
 * 0.1 to 10 ms and session durations from 50 ms to 60 s (fixed seed, 1024 precomputed sessions), so the
 * values land in different histogram buckets as real traffic does.
 *
 * <p>{@code baseline} makes the same calls on {@link SessionObserver#NONE}; the recording cost of a session
 * is {@code recordSession} minus {@code baseline}. {@code recordSessionContended} runs two threads on one
 * {@code Metrics}, as two event loops do; its ratio to {@code recordSession} is the cost of sharing the
 * counters. Run with {@code -prof gc} to see that recording allocates nothing ({@code gc.alloc.rate.norm}
 * close to 0 B/op).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class MetricsRecordingBenchmark {

    private static final int SESSIONS = 1024;

    @Param({"1", "64"})
    public int backends;

    private SessionObserver metrics;
    private Backend[] pool;
    private SessionRecord[] sessions;
    private long[] connectNanos;

    /** The position of one thread in the precomputed sessions. */
    @State(Scope.Thread)
    public static class Cursor {
        int next;

        int advance() {
            next = (next + 1) & (SESSIONS - 1);
            return next;
        }
    }

    @Setup
    public void createSessions() {
        metrics = new Metrics(BalancerView.EMPTY).sessionObserver();
        pool = new Backend[backends];
        for (int i = 0; i < backends; i++) {
            pool[i] = new Backend("relays", "mx" + i, new InetSocketAddress("127.0.0.1", 10_000 + i), 1, 0, false);
        }
        SplittableRandom random = new SplittableRandom(42);
        sessions = new SessionRecord[SESSIONS];
        connectNanos = new long[SESSIONS];
        for (int i = 0; i < SESSIONS; i++) {
            Backend backend = pool[i % backends];
            connectNanos[i] = logUniform(random, 100_000, 10_000_000);
            sessions[i] = new SessionRecord(Integer.toHexString(i), 0, new InetSocketAddress("127.0.0.1", 40_000 + i),
                    "smtp", "relays", backend.name(), backend.address(), 1, connectNanos[i], 220,
                    logUniform(random, 50_000_000L, 60_000_000_000L), 2_000 + random.nextInt(50_000), 400,
                    CloseReason.RELAY_CLOSED);
        }
    }

    private static long logUniform(SplittableRandom random, long min, long max) {
        double exponent = Math.log(min) + random.nextDouble() * (Math.log(max) - Math.log(min));
        return (long) Math.exp(exponent);
    }

    @Benchmark
    @Threads(1)
    public int baseline(Cursor cursor) {
        return record(SessionObserver.NONE, cursor.advance());
    }

    @Benchmark
    @Threads(1)
    public int recordSession(Cursor cursor) {
        return record(metrics, cursor.advance());
    }

    @Benchmark
    @Threads(2)
    public int recordSessionContended(Cursor cursor) {
        return record(metrics, cursor.advance());
    }

    /** Makes the observer calls of one carried session, in the order a session makes them. */
    private int record(SessionObserver observer, int index) {
        Backend backend = pool[index % backends];
        observer.onAccepted("smtp");
        observer.onBackendConnected(backend, connectNanos[index]);
        observer.onGreeting(backend, 220);
        observer.onClosed(sessions[index]);
        return index;
    }
}
