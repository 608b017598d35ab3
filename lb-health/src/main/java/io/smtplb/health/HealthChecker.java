package io.smtplb.health;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;

import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Schedules the health checks of many backends and reports their transitions.
 *
 * <p>Usage:
 * <pre>{@code
 * HealthChecker checker = new HealthChecker(group, EpollSocketChannel.class, listener);
 * CheckedBackend mx2 = checker.register(new BackendRef("relays", "mx2"), address, settings, true);
 * ...
 * if (mx2.isUp()) { ... }                                // on any thread
 * mx2.reportPassiveFailure(FailureReason.GREETING_4XX, "greeting was \"421 4.3.2 busy\"");
 * ...
 * checker.close();
 * }</pre>
 *
 * <p>Each backend is pinned to one event loop of the group, which runs its checks, timers and listener calls,
 * so the checks of one backend never overlap. Timing per backend:
 * <ul>
 *   <li>the first check starts after a random fraction of {@code interval}, so backends registered together
 *       do not fire together;
 *   <li>then {@code interval} while the state is steady and up, {@code transition-interval} while it is
 *       rising or falling, {@code down-interval} while it is steadily down;
 *   <li>each delay gets a random jitter in [0, {@code jitter}).
 * </ul>
 * A passive failure that starts a fall moves the next check forward to {@code transition-interval}.
 */
public final class HealthChecker implements AutoCloseable {

    private final EventLoopGroup group;
    private final Class<? extends SocketChannel> channelClass;
    private final HealthListener listener;
    private final Clock clock;
    private final Set<CheckedBackend> backends = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    /**
     * Creates a checker whose checks run on {@code group} with channels of {@code channelClass}, which must
     * match the group's transport (such as {@code EpollSocketChannel} for an {@code EpollEventLoopGroup}).
     */
    public HealthChecker(EventLoopGroup group, Class<? extends SocketChannel> channelClass,
                         HealthListener listener) {
        this(group, channelClass, listener, Clock.systemUTC());
    }

    HealthChecker(EventLoopGroup group, Class<? extends SocketChannel> channelClass, HealthListener listener,
                  Clock clock) {
        this.group = Objects.requireNonNull(group, "group");
        this.channelClass = Objects.requireNonNull(channelClass, "channelClass");
        this.listener = Objects.requireNonNull(listener, "listener");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /**
     * Starts checking a backend.
     *
     * @param ref the backend's name, used in log lines and listener calls
     * @param address the backend's own address; {@code address} and {@code port} in the settings can
     *     redirect the checks
     * @param settings the health check settings of the backend's pool
     * @param initiallyUp whether the backend starts up (it then needs {@code fall} failures to go down) or
     *     down (it needs {@code rise} passes to come up)
     * @return the handle that reports the backend's state and takes passive reports
     * @throws IllegalArgumentException if the settings cannot be used, such as an unreadable CA file
     * @throws IllegalStateException if the checker is closed
     */
    public CheckedBackend register(BackendRef ref, InetSocketAddress address, HealthCheckSettings settings,
                                   boolean initiallyUp) {
        Objects.requireNonNull(ref, "ref");
        Objects.requireNonNull(address, "address");
        HealthProbe probe = HealthProbe.create(settings, channelClass);
        CheckedBackend backend = new CheckedBackend(this, ref, group.next(), address, probe, initiallyUp);
        backends.add(backend);
        // Checked after adding, so that a concurrent close() either cancels the backend or is detected here.
        if (closed) {
            backend.cancel();
            throw new IllegalStateException("health checker is closed; backend " + ref + " not registered");
        }
        backend.start();
        return backend;
    }

    /** Cancels the checks of every backend; in-flight checks are aborted, and nothing is waited for. */
    @Override
    public void close() {
        closed = true;
        for (CheckedBackend backend : backends) {
            backend.cancel();
        }
    }

    HealthProbe newProbe(HealthCheckSettings settings) {
        return HealthProbe.create(settings, channelClass);
    }

    HealthListener listener() {
        return listener;
    }

    Clock clock() {
        return clock;
    }

    void remove(CheckedBackend backend) {
        backends.remove(backend);
    }
}
