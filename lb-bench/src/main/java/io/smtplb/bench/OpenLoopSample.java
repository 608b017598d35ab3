package io.smtplb.bench;

import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An open-loop sample: sessions are due at a fixed rate whatever the server's speed. Each session counts
 * from the moment it was due, so a server that falls behind shows it in the latencies instead of slowing
 * the load (no coordinated omission). Due sessions beyond the in-flight cap are counted as not started.
 */
final class OpenLoopSample implements SessionObserver {

    private static final long TICK_MICROS = 500;

    private final SessionLauncher launcher;
    private final EventLoop ticker;
    private final SampleStats stats = new SampleStats();
    private final double ratePerSecond;
    private final int maxInFlight;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final CountDownLatch finished = new CountDownLatch(1);
    private long startNanos;
    private long sessionLimit;
    private long started;
    private volatile boolean allStarted;
    private ScheduledFuture<?> tick;

    OpenLoopSample(SessionLauncher launcher, EventLoop ticker, double ratePerSecond, int maxInFlight) {
        this.launcher = launcher;
        this.ticker = ticker;
        this.ratePerSecond = ratePerSecond;
        this.maxInFlight = maxInFlight;
    }

    /** Runs the sample; returns once every started session has ended. */
    SampleStats run(long durationNanos, long sessionLimit, long waitLimitNanos) throws InterruptedException {
        this.sessionLimit = Math.min(sessionLimit, (long) Math.ceil(ratePerSecond * durationNanos / 1e9));
        startNanos = System.nanoTime();
        // Scheduled from the ticker's own loop, so the field is set before the first tick reads it.
        ticker.execute(() -> tick = ticker.scheduleAtFixedRate(this::startDue, 0, TICK_MICROS, TimeUnit.MICROSECONDS));
        SmtpLoad.await(finished, waitLimitNanos, "open-loop sample");
        return stats;
    }

    @Override
    public void onSuccess(long greetingNanos, long sessionNanos) {
        stats.onSuccess(greetingNanos, sessionNanos);
        ended();
    }

    @Override
    public void onFailure(FailureKind kind, String detail) {
        stats.onFailure(kind, detail);
        ended();
    }

    /** Starts every session due by now; runs on the ticker's event loop. */
    private void startDue() {
        long elapsed = System.nanoTime() - startNanos;
        long due = Math.min(sessionLimit, (long) (elapsed * ratePerSecond / 1e9) + 1);
        while (started < due) {
            long dueNanos = startNanos + (long) (started * 1e9 / ratePerSecond);
            started++;
            if (inFlight.get() >= maxInFlight) {
                stats.onFailure(FailureKind.NOT_STARTED, "in-flight cap of " + maxInFlight + " reached");
                continue;
            }
            inFlight.incrementAndGet();
            launcher.launch(this, dueNanos);
        }
        if (started >= sessionLimit && !allStarted) {
            allStarted = true;
            tick.cancel(false);
            ticker.execute(this::finishIfIdle);
        }
    }

    private void ended() {
        if (inFlight.decrementAndGet() == 0 && allStarted) {
            finished.countDown();
        }
    }

    private void finishIfIdle() {
        if (inFlight.get() == 0) {
            finished.countDown();
        }
    }
}
