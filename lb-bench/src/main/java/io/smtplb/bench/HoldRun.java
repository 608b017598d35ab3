package io.smtplb.bench;

import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Opens connections, waits for each greeting and keeps the connections idle, so that the memory and file
 * descriptors a balancer spends per idle connection can be read from outside while they are held.
 */
final class HoldRun implements SessionObserver {

    private final SessionLauncher launcher;
    private final EventLoopGroup group;
    private final SampleStats stats = new SampleStats();
    private final Semaphore connectsInFlight;
    private final List<Channel> channels = new ArrayList<>();
    private final CountDownLatch allGreeted;
    private volatile boolean releasing;
    private final AtomicLong droppedWhileHeld = new AtomicLong();

    HoldRun(SessionLauncher launcher, EventLoopGroup group, int connections, int concurrency) {
        this.launcher = launcher;
        this.group = group;
        this.connectsInFlight = new Semaphore(concurrency);
        this.allGreeted = new CountDownLatch(connections);
    }

    /**
     * Opens the connections with at most {@code concurrency} connects in flight and waits until every one has
     * been greeted or has failed.
     */
    SampleStats open(long waitLimitNanos) throws InterruptedException {
        long count = allGreeted.getCount();
        for (long i = 0; i < count; i++) {
            connectsInFlight.acquire();
            Channel channel = launcher.launch(this, System.nanoTime());
            channels.add(channel);
        }
        SmtpLoad.await(allGreeted, waitLimitNanos, "opening held connections");
        return stats;
    }

    /** Keeps the connections idle for {@code holdTime}, then closes them all. */
    void holdAndRelease(Duration holdTime) throws InterruptedException {
        TimeUnit.NANOSECONDS.sleep(holdTime.toNanos());
        releasing = true;
        for (Channel channel : channels) {
            channel.close();
        }
        for (Channel channel : channels) {
            channel.closeFuture().await();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }

    /** Returns how many greeted connections were closed by the server or failed while held. */
    long droppedWhileHeld() {
        return droppedWhileHeld.get();
    }

    @Override
    public void onSuccess(long greetingNanos, long sessionNanos) {
        throw new IllegalStateException("a held session never sends QUIT");
    }

    @Override
    public void onHeld(long greetingNanos) {
        stats.onHeld(greetingNanos);
        connectsInFlight.release();
        allGreeted.countDown();
    }

    @Override
    public void onFailure(FailureKind kind, String detail) {
        stats.onFailure(kind, detail);
        connectsInFlight.release();
        allGreeted.countDown();
    }

    @Override
    public void onDroppedWhileHeld(FailureKind kind, String detail) {
        if (releasing) {
            return;
        }
        droppedWhileHeld.incrementAndGet();
        stats.onFailure(kind, detail);
    }
}
