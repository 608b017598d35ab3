package io.smtplb.metrics;

import io.smtplb.health.BackendRef;
import io.smtplb.health.HealthChange;
import io.smtplb.health.HealthListener;
import io.smtplb.health.ProbeResult;

/**
 * Records health check results. The up/down state itself is read from the backend at scrape time, so a
 * transition needs no recording here.
 */
final class HealthMetrics implements HealthListener {

    private final Metrics metrics;

    HealthMetrics(Metrics metrics) {
        this.metrics = metrics;
    }

    @Override
    public void onHealthChange(HealthChange change) {
    }

    @Override
    public void onCheckCompleted(BackendRef ref, ProbeResult result) {
        metrics.backend(ref.pool(), ref.backend()).onCheckCompleted(result);
    }
}
