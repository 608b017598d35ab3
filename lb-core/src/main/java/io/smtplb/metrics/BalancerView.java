package io.smtplb.metrics;

import io.smtplb.balance.Backend;
import io.smtplb.balance.BackendPool;
import io.smtplb.health.CheckedBackend;

import java.util.List;
import java.util.Map;

/**
 * The live state that gauges read at scrape time, so that no gauge keeps a copy of what the balancer already
 * tracks (open connections, health, weights). Called on the thread that scrapes; every method must be
 * cheap and thread-safe.
 */
public interface BalancerView {

    /** A view of a balancer with nothing configured, for benchmarks and tests of recording alone. */
    BalancerView EMPTY = new BalancerView() {
        @Override
        public Map<String, BackendPool> pools() {
            return Map.of();
        }

        @Override
        public CheckedBackend healthOf(Backend backend) {
            return null;
        }

        @Override
        public List<String> listenerNames() {
            return List.of();
        }

        @Override
        public boolean isListenerBound(String listener) {
            return false;
        }
    };

    /** Returns the pools now in service, by name. */
    Map<String, BackendPool> pools();

    /** Returns the health check of a backend, or {@code null} when it has none. */
    CheckedBackend healthOf(Backend backend);

    /** Returns the names of the configured listeners. */
    List<String> listenerNames();

    /** Returns whether every address of the listener is bound. */
    boolean isListenerBound(String listener);
}
