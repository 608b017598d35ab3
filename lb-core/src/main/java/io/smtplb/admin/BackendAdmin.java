package io.smtplb.admin;

import io.smtplb.SmtpLoadBalancer;
import io.smtplb.balance.Backend;
import io.smtplb.balance.Backend.AdminState;
import io.smtplb.balance.BackendPool;
import io.smtplb.health.CheckedBackend;
import io.smtplb.proxy.CloseReason;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Operator actions on backends: drain, maintenance and ready, with an optional deadline after which the
 * sessions still open on a drained backend are closed.
 *
 * <ul>
 *   <li>{@code drain}: no new sessions; open sessions continue; health checks continue.
 *   <li>{@code maintenance}: like drain, and health checks pause, so a relay being worked on raises no alarms.
 *   <li>{@code ready}: back in service; paused checks resume and a pending deadline is cancelled.
 * </ul>
 *
 * <p>Thread-safe. Deadlines run on the given scheduler; closing sessions only queues work on their event
 * loops, so nothing here blocks.
 */
public final class BackendAdmin {

    private static final Logger log = LoggerFactory.getLogger(BackendAdmin.class);

    private final SmtpLoadBalancer balancer;
    private final ScheduledExecutorService scheduler;
    private final Map<Backend, Deadline> deadlines = new ConcurrentHashMap<>();

    /** A pending deadline: when it fires, and the task that closes the remaining sessions. */
    private record Deadline(Instant at, ScheduledFuture<?> task) {
    }

    /**
     * The outcome of an action.
     *
     * @param backend the backend acted on
     * @param previous its state before
     * @param current its state now
     * @param deadline when open sessions will be closed, or {@code null} for no deadline
     */
    public record Change(Backend backend, AdminState previous, AdminState current, Instant deadline) {
    }

    /** The named pool or backend does not exist. */
    public static final class NotFoundException extends RuntimeException {
        NotFoundException(String message) {
            super(message);
        }
    }

    public BackendAdmin(SmtpLoadBalancer balancer, ScheduledExecutorService scheduler) {
        this.balancer = balancer;
        this.scheduler = scheduler;
    }

    /** Returns the lower-case name of a state, as the API and metrics spell it. */
    public static String label(AdminState state) {
        return state.name().toLowerCase(Locale.ROOT);
    }

    /**
     * Sets a backend's administrative state.
     *
     * @param deadline for drain and maintenance, time after which open sessions are closed with reason
     *     {@code drained}; {@code null} lets them finish however long they take
     * @throws NotFoundException when the pool or backend does not exist
     * @throws IllegalArgumentException when a deadline is given with {@code ready}
     */
    public Change setState(String poolName, String backendName, AdminState state, Duration deadline) {
        if (deadline != null && state == AdminState.READY) {
            throw new IllegalArgumentException("deadline: " + deadline.toMillis() + " ms (expected: no deadline "
                    + "with ready; a deadline applies to drain and maintenance)");
        }
        Backend backend = find(poolName, backendName);

        AdminState previous = backend.adminState();
        backend.setAdminState(state);
        pauseOrResumeChecks(backend, previous, state);
        cancelDeadline(backend);
        Instant at = deadline == null ? null : scheduleDeadline(backend, deadline);

        log.info("backend {} is {} (was {}) by the admin API: {}", backend, label(state), label(previous),
                consequence(backend, state, deadline));
        return new Change(backend, previous, state, at);
    }

    /** Returns when the open sessions of a backend will be closed by a deadline, or {@code null}. */
    public Instant deadlineOf(Backend backend) {
        Deadline deadline = deadlines.get(backend);
        return deadline == null ? null : deadline.at();
    }

    /** Cancels every pending deadline, for shutdown. */
    public void cancelAll() {
        deadlines.values().forEach(deadline -> deadline.task().cancel(false));
        deadlines.clear();
    }

    private Backend find(String poolName, String backendName) {
        BackendPool pool = balancer.pools().get(poolName);
        if (pool == null) {
            throw new NotFoundException("pool " + poolName + " not found (expected one of: "
                    + String.join(", ", balancer.pools().keySet()) + ")");
        }
        Backend backend = pool.backend(backendName);
        if (backend == null) {
            throw new NotFoundException("backend " + poolName + "/" + backendName + " not found (expected one of: "
                    + String.join(", ", pool.members().all().stream().map(Backend::name).toList()) + ")");
        }
        return backend;
    }

    private void pauseOrResumeChecks(Backend backend, AdminState previous, AdminState state) {
        CheckedBackend check = balancer.healthOf(backend);
        if (check == null) {
            return;
        }
        if (state == AdminState.MAINTENANCE) {
            check.pause();
        } else if (previous == AdminState.MAINTENANCE) {
            check.resume();
        }
    }

    private Instant scheduleDeadline(Backend backend, Duration deadline) {
        Instant at = Instant.now().plus(deadline);
        ScheduledFuture<?> task = scheduler.schedule(() -> onDeadline(backend), deadline.toNanos(),
                TimeUnit.NANOSECONDS);
        deadlines.put(backend, new Deadline(at, task));
        return at;
    }

    private void cancelDeadline(Backend backend) {
        Deadline pending = deadlines.remove(backend);
        if (pending != null) {
            pending.task().cancel(false);
        }
    }

    private void onDeadline(Backend backend) {
        deadlines.remove(backend);
        if (backend.adminState() == AdminState.READY) {
            return;
        }
        int closed = balancer.proxy().sessions().closeSessionsOf(backend, CloseReason.DRAINED);
        log.info("backend {}: drain deadline reached, closed {} open sessions", backend, closed);
    }

    private static String consequence(Backend backend, AdminState state, Duration deadline) {
        if (state == AdminState.READY) {
            return "receives new sessions again";
        }
        String sessions = "no new sessions; " + backend.activeConnections() + " open sessions ";
        String checks = state == AdminState.MAINTENANCE ? "; health checks paused" : "";
        if (deadline == null) {
            return sessions + "continue" + checks;
        }
        return sessions + "get " + deadline.toMillis() / 1000.0 + " s before they are closed" + checks;
    }
}
