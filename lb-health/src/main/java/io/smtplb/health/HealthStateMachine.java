package io.smtplb.health;

import java.util.Objects;

/**
 * The health state of one backend, driven by check results and by failures seen on client sessions.
 *
 * <p>Rules, with {@code rise} and {@code fall} from the settings:
 * <ul>
 *   <li>A down backend comes up after {@code rise} consecutive passed checks; any failure restarts the count.
 *   <li>An up backend goes down once its failed checks plus its passive failures, both counted since the last
 *       passed check, reach {@code fall}. So {@code fall} passive failures in a row take it down at once,
 *       without waiting for a check.
 *   <li>A passed check clears both counts. A passive success (a relay greeted a client) clears only the
 *       passive count: live sessions prove the greeting works, not what the check tests beyond it.
 *   <li>{@link #onDownIntervalElapsed()} brings a down backend up without checks, for {@code type = none}.
 * </ul>
 *
 * <p>Worked example with rise 2, fall 3, starting up: fail ({@code fall 1/3}), passive failure
 * ({@code fall 2/3}), passive success ({@code fall 1/3}), fail ({@code fall 2/3}), fail (DOWN, {@code fall 3/3}),
 * pass ({@code rise 1/2}), fail ({@code rise 0/2}), pass ({@code rise 1/2}), pass (UP, {@code rise 2/2}).
 *
 * <p>A pure class: no sockets, timers or clocks, and not thread-safe. {@link CheckedBackend} confines each
 * instance to one event loop.
 */
public final class HealthStateMachine {

    private int rise;
    private int fall;
    private HealthState state;
    private int passes;
    private int failedChecks;
    private int passiveFailures;

    /** Creates a machine in the given state with no progress toward the other. */
    public HealthStateMachine(int rise, int fall, HealthState initial) {
        this.state = Objects.requireNonNull(initial, "initial");
        setThresholds(rise, fall);
    }

    /** Records a passed check. */
    public Update onPass() {
        failedChecks = 0;
        passiveFailures = 0;
        if (state == HealthState.UP) {
            return steady();
        }
        passes++;
        return passes >= rise ? change(HealthState.UP, "rise " + rise + "/" + rise) : steady();
    }

    /** Records a failed check. */
    public Update onFailure() {
        if (state == HealthState.DOWN) {
            passes = 0;
            return steady();
        }
        failedChecks++;
        return afterFailure();
    }

    /** Records a failure seen on a client session, such as a refused connect or a 421 greeting. */
    public Update onPassiveFailure() {
        if (state == HealthState.DOWN) {
            passes = 0;
            return steady();
        }
        passiveFailures++;
        return afterFailure();
    }

    /** Records that a relay greeted a client, which clears the passive failure count. */
    public Update onPassiveSuccess() {
        passiveFailures = 0;
        return steady();
    }

    /** Brings a down backend up when no check runs ({@code type = none}) once {@code down-interval} has passed. */
    public Update onDownIntervalElapsed() {
        return state == HealthState.DOWN ? change(HealthState.UP, "down-interval elapsed") : steady();
    }

    /** Applies new thresholds and clears all progress; the state is kept. */
    public void reset(int newRise, int newFall) {
        setThresholds(newRise, newFall);
        clearCounts();
    }

    /** Returns the current state. */
    public HealthState state() {
        return state;
    }

    /** Returns the current progress without recording anything. */
    public Update current() {
        return steady();
    }

    private void setThresholds(int newRise, int newFall) {
        if (newRise < 1 || newFall < 1) {
            throw new IllegalArgumentException("rise: " + newRise + ", fall: " + newFall + " (expected: >= 1)");
        }
        this.rise = newRise;
        this.fall = newFall;
    }

    private Update afterFailure() {
        int failures = failedChecks + passiveFailures;
        return failures >= fall ? change(HealthState.DOWN, "fall " + fall + "/" + fall) : steady();
    }

    private Update change(HealthState newState, String progress) {
        state = newState;
        clearCounts();
        return new Update(newState, true, progress, false);
    }

    private void clearCounts() {
        passes = 0;
        failedChecks = 0;
        passiveFailures = 0;
    }

    private Update steady() {
        if (state == HealthState.UP) {
            int failures = failedChecks + passiveFailures;
            return new Update(state, false, "fall " + failures + "/" + fall, failures > 0);
        }
        return new Update(state, false, "rise " + passes + "/" + rise, passes > 0);
    }

    /**
     * The state after one input.
     *
     * @param state the state after the input
     * @param changed whether the input changed the state
     * @param progress progress toward the other state for the log line, such as {@code fall 1/3}, or the
     *     threshold just reached, such as {@code rise 2/2}
     * @param transitioning whether the backend has made progress toward the other state without reaching it
     *     (it is rising or falling), which selects {@code transition-interval} for the next check
     */
    public record Update(HealthState state, boolean changed, String progress, boolean transitioning) {
    }
}
