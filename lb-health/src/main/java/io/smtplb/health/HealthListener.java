package io.smtplb.health;

/**
 * Receives the results of health checks.
 *
 * <p>Both methods are called on the event loop that runs the backend's checks, so they must not block.
 * An exception thrown by either is logged and otherwise ignored.
 */
public interface HealthListener {

    /** Called when a backend goes up or down, and only then. */
    void onHealthChange(HealthChange change);

    /** Called after every completed active check, whether or not the state changed; meant for metrics. */
    default void onCheckCompleted(BackendRef ref, ProbeResult result) {
    }
}
