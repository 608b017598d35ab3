package io.smtplb.balance;

import io.smtplb.health.FailureReason;

import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Runtime state of one relay: its configured weight and cap, its health and administrative state, and the
 * number of sessions it carries now.
 *
 * <p>Thread-safe: event loops take and release connection slots concurrently, the health checker flips the
 * health flag, and the admin API changes the administrative state.
 */
public final class Backend {

    /** Administrative state set by an operator. */
    public enum AdminState {
        /** In service. */
        READY,
        /** No new sessions; open sessions continue; health checks continue. */
        DRAIN,
        /** No new sessions; open sessions continue; health checks paused. */
        MAINTENANCE
    }

    /** Receives what live sessions learn about a backend's health. */
    public interface PassiveHealth {
        /** Ignores all reports; used until a health checker is attached. */
        PassiveHealth NONE = new PassiveHealth() {
            @Override
            public void failure(FailureReason reason, String detail) {
            }

            @Override
            public void success() {
            }
        };

        /** A live session could not connect to the relay, or the relay did not greet it with 220. */
        void failure(FailureReason reason, String detail);

        /** The relay greeted a live session with 220. */
        void success();
    }

    /** Weight factor applied at the start of slow start, in percent of the configured weight. */
    private static final int SLOW_START_FLOOR_PERCENT = 10;

    private final String pool;
    private final String name;
    private final boolean backup;
    private final AtomicInteger active = new AtomicInteger();
    private final AtomicLong total = new AtomicLong();

    private volatile InetSocketAddress address;
    private volatile int weight;
    private volatile int maxConnections;
    private volatile boolean up = true;
    private volatile AdminState adminState = AdminState.READY;
    private volatile long slowStartBeginNanos;
    private volatile long slowStartNanos;
    private volatile PassiveHealth passiveHealth = PassiveHealth.NONE;

    public Backend(String pool, String name, InetSocketAddress address, int weight, int maxConnections,
                   boolean backup) {
        this.pool = pool;
        this.name = name;
        this.address = address;
        this.weight = weight;
        this.maxConnections = maxConnections;
        this.backup = backup;
    }

    public String pool() {
        return pool;
    }

    public String name() {
        return name;
    }

    public InetSocketAddress address() {
        return address;
    }

    public boolean isBackup() {
        return backup;
    }

    public int weight() {
        return weight;
    }

    public int maxConnections() {
        return maxConnections;
    }

    public int activeConnections() {
        return active.get();
    }

    /** Sessions ever forwarded to this backend, counted when a slot is taken. */
    public long totalConnections() {
        return total.get();
    }

    public boolean isUp() {
        return up;
    }

    public AdminState adminState() {
        return adminState;
    }

    /** Returns whether the backend may receive new sessions: healthy and ready. */
    public boolean isAvailable() {
        return up && adminState == AdminState.READY;
    }

    /**
     * Takes one connection slot unless the backend is at {@code max-connections}.
     *
     * @return {@code true} if the slot was taken; the caller must {@link #release()} it exactly once
     */
    public boolean tryAcquire() {
        int cap = maxConnections;
        for (;;) {
            int current = active.get();
            if (cap > 0 && current >= cap) {
                return false;
            }
            if (active.compareAndSet(current, current + 1)) {
                total.incrementAndGet();
                return true;
            }
        }
    }

    /** Returns a slot taken by {@link #tryAcquire()}. */
    public void release() {
        active.decrementAndGet();
    }

    /** Returns whether a new session would exceed {@code max-connections}. */
    public boolean isFull() {
        int cap = maxConnections;
        return cap > 0 && active.get() >= cap;
    }

    /**
     * Returns the weight the balancers use now: the configured weight, ramped linearly from 10 % to 100 %
     * during slow start after the backend came up.
     */
    public int effectiveWeight(long nowNanos) {
        int configured = weight;
        long window = slowStartNanos;
        if (window <= 0) {
            return configured;
        }
        long elapsed = nowNanos - slowStartBeginNanos;
        if (elapsed >= window) {
            slowStartNanos = 0;
            return configured;
        }
        long floor = (long) configured * SLOW_START_FLOOR_PERCENT;
        long percent = floor + ((long) configured * 100 - floor) * Math.max(0, elapsed) / window;
        return (int) Math.max(1, percent / 100);
    }

    /** Marks the backend up or down; coming up starts slow start when {@code slowStartNanos} is positive. */
    public void setUp(boolean nowUp, long nowNanos, long slowStartNanos) {
        if (nowUp && !up && slowStartNanos > 0) {
            this.slowStartBeginNanos = nowNanos;
            this.slowStartNanos = slowStartNanos;
        }
        this.up = nowUp;
    }

    /** Attaches the health checker that counts passive failures toward {@code fall}. */
    public void setPassiveHealth(PassiveHealth health) {
        this.passiveHealth = health;
    }

    /** Reports a failure seen on live traffic: refused or timed-out connect, bad or missing greeting. */
    public void reportPassiveFailure(FailureReason reason, String detail) {
        passiveHealth.failure(reason, detail);
    }

    /** Reports a 220 greeting seen on live traffic, which resets the passive failure count. */
    public void reportPassiveSuccess() {
        passiveHealth.success();
    }

    public void setAdminState(AdminState state) {
        this.adminState = state;
    }

    /** Applies new settings from a reload; open sessions keep their slots. */
    public void reconfigure(InetSocketAddress newAddress, int newWeight, int newMaxConnections) {
        this.address = newAddress;
        this.weight = newWeight;
        this.maxConnections = newMaxConnections;
    }

    @Override
    public String toString() {
        return pool + "/" + name + " (" + formatAddress(address) + ")";
    }

    /** Formats an address as {@code host:port}, with IPv6 hosts in brackets. */
    public static String formatAddress(InetSocketAddress address) {
        String host = address.getAddress() != null ? address.getAddress().getHostAddress() : address.getHostString();
        return host.indexOf(':') >= 0 ? "[" + host + "]:" + address.getPort() : host + ":" + address.getPort();
    }
}
