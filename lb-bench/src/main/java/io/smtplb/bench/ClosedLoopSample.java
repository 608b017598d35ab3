package io.smtplb.bench;

import io.netty.channel.EventLoopGroup;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A closed-loop sample: a fixed number of slots, each running one session after another until the session
 * limit is used up or the sample time has passed. Sessions count from their connect.
 */
final class ClosedLoopSample implements SessionObserver {

    private final SessionLauncher launcher;
    private final EventLoopGroup group;
    private final SampleStats stats = new SampleStats();
    private final long sessionLimit;
    private final AtomicLong started = new AtomicLong();
    private final AtomicInteger activeSlots;
    private final CountDownLatch finished = new CountDownLatch(1);
    private final int concurrency;
    private long deadlineNanos;

    ClosedLoopSample(SessionLauncher launcher, EventLoopGroup group, int concurrency, long sessionLimit) {
        this.launcher = launcher;
        this.group = group;
        this.concurrency = concurrency;
        this.sessionLimit = sessionLimit;
        this.activeSlots = new AtomicInteger(concurrency);
    }

    /** Runs the sample; returns once every started session has ended. */
    SampleStats run(long durationNanos, long waitLimitNanos) throws InterruptedException {
        deadlineNanos = System.nanoTime() + durationNanos;
        for (int i = 0; i < concurrency; i++) {
            group.execute(this::startNext);
        }
        SmtpLoad.await(finished, waitLimitNanos, "closed-loop sample");
        return stats;
    }

    @Override
    public void onSuccess(long greetingNanos, long sessionNanos) {
        stats.onSuccess(greetingNanos, sessionNanos);
        startNext();
    }

    @Override
    public void onFailure(FailureKind kind, String detail) {
        stats.onFailure(kind, detail);
        // Connect errors can be reported inside the connect call; a new task keeps the stack flat.
        group.execute(this::startNext);
    }

    private void startNext() {
        if (System.nanoTime() - deadlineNanos >= 0 || started.incrementAndGet() > sessionLimit) {
            if (activeSlots.decrementAndGet() == 0) {
                finished.countDown();
            }
            return;
        }
        launcher.launch(this, System.nanoTime());
    }
}
