package io.smtplb.health;

import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import io.smtplb.health.HealthCheckSettings.CheckType;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The health of one registered backend: its state, its last check, and the entry point for what client
 * sessions learn about it.
 *
 * <p>Thread-safe. Every method may be called from any thread; the work happens on the backend's event loop,
 * in call order, so a change requested by {@link #pause()}, {@link #reconfigure} or {@link #cancel()} takes
 * effect shortly after the call returns. Listener calls for this backend come from that event loop.
 *
 * <p>With {@code type = none} no check runs: the backend stays up unless passive failures take it down, and
 * it comes back up by itself once {@code down-interval} has passed.
 */
public final class CheckedBackend {

    private static final Logger log = LoggerFactory.getLogger(CheckedBackend.class);

    private final HealthChecker checker;
    private final BackendRef ref;
    private final EventLoop loop;

    // Confined to the event loop.
    private InetSocketAddress address;
    private HealthProbe probe;
    private InetSocketAddress target;
    private final HealthStateMachine machine;
    private ScheduledFuture<?> timer;
    private Future<ProbeResult> inFlight;
    private long generation;
    private boolean paused;
    private boolean cancelled;
    private String lastWarning;

    private volatile HealthState state;
    private volatile ProbeResult lastResult;
    private volatile Instant lastCheckTime;
    // Lets reportPassiveSuccess() skip the event loop while there is nothing to clear.
    private volatile boolean passiveFailuresCounted;

    CheckedBackend(HealthChecker checker, BackendRef ref, EventLoop loop, InetSocketAddress address,
                   HealthProbe probe, boolean initiallyUp) {
        this.checker = checker;
        this.ref = ref;
        this.loop = loop;
        this.address = address;
        this.probe = probe;
        this.target = probe.targetFor(address);
        HealthCheckSettings settings = probe.settings();
        this.state = initiallyUp ? HealthState.UP : HealthState.DOWN;
        this.machine = new HealthStateMachine(settings.rise(), settings.fall(), state);
    }

    /** Returns the backend's name. */
    public BackendRef ref() {
        return ref;
    }

    /** Returns whether the backend is up. */
    public boolean isUp() {
        return state == HealthState.UP;
    }

    /** Returns the backend's state. */
    public HealthState state() {
        return state;
    }

    /** Returns the result of the last completed check, or {@code null} before the first. */
    public ProbeResult lastResult() {
        return lastResult;
    }

    /** Returns when the last check completed, or {@code null} before the first. */
    public Instant lastCheckTime() {
        return lastCheckTime;
    }

    /**
     * Counts a failure seen on a client session, such as a refused connect or a 421 greeting, toward
     * {@code fall}. {@code fall} of them in a row take the backend down at once. Ignored while paused.
     *
     * @param detail the phrase for the log line, such as {@code greeting was "421 4.3.2 busy"}
     */
    public void reportPassiveFailure(FailureReason reason, String detail) {
        Objects.requireNonNull(reason, "reason");
        onLoop(() -> onPassiveFailure(reason, detail));
        // Set after queueing, so a success that reads the flag as set is queued after this failure.
        passiveFailuresCounted = true;
    }

    /** Records that the relay greeted a client, which clears the count of passive failures. */
    public void reportPassiveSuccess() {
        if (passiveFailuresCounted) {
            passiveFailuresCounted = false;
            onLoop(this::onPassiveSuccess);
        }
    }

    /** Stops checking while the backend is in maintenance; the state is kept and passive reports are ignored. */
    public void pause() {
        onLoop(() -> {
            paused = true;
            stopChecks();
        });
    }

    /** Resumes checks after {@link #pause()}; the first starts after a random fraction of {@code interval}. */
    public void resume() {
        onLoop(() -> {
            if (paused && !cancelled) {
                paused = false;
                scheduleFirst();
            }
        });
    }

    /**
     * Applies new settings or a new address after a reload. The state is kept, progress toward a change is
     * cleared, an in-flight check is aborted, and checking restarts as after {@code register}. Nothing
     * happens if neither changed.
     *
     * @throws IllegalArgumentException if the settings cannot be used, such as an unreadable CA file
     */
    public void reconfigure(InetSocketAddress newAddress, HealthCheckSettings newSettings) {
        Objects.requireNonNull(newAddress, "newAddress");
        HealthProbe newProbe = checker.newProbe(newSettings);
        InetSocketAddress newTarget = newProbe.targetFor(newAddress);
        onLoop(() -> applyConfig(newAddress, newProbe, newTarget));
    }

    /** Stops checking for good; no listener call follows. */
    public void cancel() {
        onLoop(() -> {
            cancelled = true;
            stopChecks();
        });
        checker.remove(this);
    }

    void start() {
        loop.execute(this::scheduleFirst);
    }

    /** Runs the task on the backend's event loop; once the loop has shut down there is nothing left to do. */
    private void onLoop(Runnable task) {
        try {
            loop.execute(task);
        } catch (RejectedExecutionException e) {
            log.debug("backend {}: event loop shut down, request ignored", ref);
        }
    }

    private void applyConfig(InetSocketAddress newAddress, HealthProbe newProbe, InetSocketAddress newTarget) {
        if (cancelled || (newAddress.equals(address) && newProbe.settings().equals(probe.settings()))) {
            return;
        }
        address = newAddress;
        probe = newProbe;
        target = newTarget;
        machine.reset(newProbe.settings().rise(), newProbe.settings().fall());
        stopChecks();
        if (!paused) {
            scheduleFirst();
        }
    }

    private void scheduleFirst() {
        if (cancelled || paused) {
            return;
        }
        HealthCheckSettings settings = probe.settings();
        if (settings.type() == CheckType.NONE) {
            if (state == HealthState.DOWN) {
                schedule(this::onDownIntervalElapsed, settings.downInterval());
            }
            return;
        }
        long intervalNanos = settings.interval().toNanos();
        long delay = intervalNanos > 0 ? ThreadLocalRandom.current().nextLong(intervalNanos) : 0;
        schedule(this::runCheck, Duration.ofNanos(delay));
    }

    private void runCheck() {
        timer = null;
        if (cancelled || paused) {
            return;
        }
        long checkGeneration = generation;
        inFlight = probe.check(loop, target);
        inFlight.addListener(future -> onCheckDone(checkGeneration, future));
    }

    private void onCheckDone(long checkGeneration, Future<?> future) {
        if (checkGeneration != generation || cancelled || future.isCancelled()) {
            return;
        }
        inFlight = null;
        ProbeResult result = (ProbeResult) future.getNow();
        lastResult = result;
        lastCheckTime = checker.clock().instant();
        logResult(result);
        notifyCheckCompleted(result);

        HealthState oldState = state;
        HealthStateMachine.Update update = result.passed() ? machine.onPass() : machine.onFailure();
        state = update.state();
        if (update.changed()) {
            notifyChange(oldState, update, result.reason(), result.detail(), false);
        }
        scheduleNext(update);
    }

    private void onPassiveFailure(FailureReason reason, String detail) {
        if (cancelled || paused) {
            return;
        }
        HealthState oldState = state;
        HealthStateMachine.Update update = machine.onPassiveFailure();
        state = update.state();
        log.debug("backend {} ({}): passive failure: {} ({}); {}", ref, HealthChange.formatAddress(address),
                reason, detail, update.progress());
        if (update.changed()) {
            notifyChange(oldState, update, reason, detail, true);
        }
        if (inFlight == null && (update.changed() || update.transitioning())) {
            rescheduleAfterPassiveFailure(update);
        }
    }

    private void rescheduleAfterPassiveFailure(HealthStateMachine.Update update) {
        HealthCheckSettings settings = probe.settings();
        if (settings.type() == CheckType.NONE) {
            if (update.changed()) {
                cancelTimer();
                schedule(this::onDownIntervalElapsed, settings.downInterval());
            }
            return;
        }
        Duration next = withJitter(nextInterval(update));
        // Only ever brings the next check forward, or, on a change, moves it to the new state's interval.
        if (update.changed() || timer == null || timer.getDelay(TimeUnit.NANOSECONDS) > next.toNanos()) {
            cancelTimer();
            schedule(this::runCheck, next);
        }
    }

    private void onPassiveSuccess() {
        if (!cancelled && !paused) {
            machine.onPassiveSuccess();
        }
    }

    private void onDownIntervalElapsed() {
        timer = null;
        if (cancelled || paused) {
            return;
        }
        HealthState oldState = state;
        HealthStateMachine.Update update = machine.onDownIntervalElapsed();
        state = update.state();
        if (update.changed()) {
            notifyChange(oldState, update, null, null, false);
        }
    }

    private void scheduleNext(HealthStateMachine.Update update) {
        if (!cancelled && !paused) {
            schedule(this::runCheck, withJitter(nextInterval(update)));
        }
    }

    private Duration nextInterval(HealthStateMachine.Update update) {
        HealthCheckSettings settings = probe.settings();
        if (update.transitioning()) {
            return settings.transitionInterval();
        }
        return update.state() == HealthState.DOWN ? settings.downInterval() : settings.interval();
    }

    private Duration withJitter(Duration interval) {
        long jitterNanos = probe.settings().jitter().toNanos();
        long extra = jitterNanos > 0 ? ThreadLocalRandom.current().nextLong(jitterNanos) : 0;
        return interval.plusNanos(extra);
    }

    private void schedule(Runnable task, Duration delay) {
        timer = loop.schedule(task, delay.toNanos(), TimeUnit.NANOSECONDS);
    }

    private void stopChecks() {
        generation++;
        cancelTimer();
        if (inFlight != null) {
            inFlight.cancel(false);
            inFlight = null;
        }
    }

    private void cancelTimer() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    private void notifyChange(HealthState oldState, HealthStateMachine.Update update, FailureReason reason,
                              String detail, boolean passive) {
        boolean up = update.state() == HealthState.UP;
        HealthChange change = new HealthChange(ref, address, oldState, update.state(), up ? null : reason,
                up ? null : detail, update.progress(), passive);
        try {
            checker.listener().onHealthChange(change);
        } catch (RuntimeException e) {
            log.warn("backend {}: health listener failed on {}: {}", ref, change.describe(), e.toString(), e);
        }
    }

    private void notifyCheckCompleted(ProbeResult result) {
        try {
            checker.listener().onCheckCompleted(ref, result);
        } catch (RuntimeException e) {
            log.warn("backend {}: health listener failed on a check result: {}", ref, e.toString(), e);
        }
    }

    private void logResult(ProbeResult result) {
        long millis = result.duration().toMillis();
        if (!result.passed()) {
            log.debug("backend {} ({}): check failed in {} ms: {}: {}", ref, HealthChange.formatAddress(target),
                    millis, result.reason(), result.detail());
            return;
        }
        log.debug("backend {} ({}): check passed in {} ms", ref, HealthChange.formatAddress(target), millis);
        String warning = result.detail();
        // Logged when it appears or changes, not on every check.
        if (warning != null && !warning.equals(lastWarning)) {
            log.warn("backend {} ({}): {}; check passes because tls-verify = warn", ref,
                    HealthChange.formatAddress(target), warning);
        }
        lastWarning = warning;
    }
}
