package io.smtplb.admin;

import io.smtplb.SmtpLoadBalancer.ReloadResult;
import io.smtplb.admin.BalancerState.BackendState;
import io.smtplb.admin.BalancerState.CheckState;
import io.smtplb.admin.BalancerState.ListenerState;
import io.smtplb.admin.BalancerState.PoolState;
import io.smtplb.metrics.LatencyRecorder.Percentiles;

import java.time.Instant;
import java.util.List;

/** Renders the admin API's JSON documents. docs/admin-api.md shows an example of each. */
final class StateJson {

    private StateJson() {
    }

    /** Renders {@code GET /api/state}. */
    static String state(BalancerState state) {
        JsonWriter json = new JsonWriter().beginObject()
                .field("version", state.version())
                .field("time", state.time().toString())
                .field("started", state.started().toString())
                .field("transport", state.transport())
                .field("forwarding", state.forwarding())
                .field("openSessions", state.openSessions());
        json.name("listeners").beginArray();
        state.listeners().forEach(listener -> listener(json, listener));
        json.endArray();
        json.name("pools").beginArray();
        state.pools().forEach(pool -> pool(json, pool));
        json.endArray();
        return json.endObject().toString();
    }

    /** Renders the response to a backend state change. */
    static String adminChange(BackendAdmin.Change change) {
        JsonWriter json = new JsonWriter().beginObject()
                .field("pool", change.backend().pool())
                .field("backend", change.backend().name())
                .field("previousState", BackendAdmin.label(change.previous()))
                .field("adminState", BackendAdmin.label(change.current()))
                .field("activeConnections", change.backend().activeConnections());
        instant(json, "deadline", change.deadline());
        return json.endObject().toString();
    }

    /** Renders the response to a reload. */
    static String reload(ReloadResult result) {
        JsonWriter json = new JsonWriter().beginObject().field("applied", result.applied());
        strings(json, "changes", result.changes());
        strings(json, "needsRestart", result.needsRestart());
        strings(json, "problems", result.problems());
        return json.endObject().toString();
    }

    private static void listener(JsonWriter json, ListenerState listener) {
        json.beginObject()
                .field("name", listener.name())
                .field("pool", listener.pool())
                .field("bound", listener.bound());
        strings(json, "addresses", listener.addresses());
        json.field("activeSessions", listener.activeSessions())
                .field("acceptedConnections", listener.acceptedConnections())
                .endObject();
    }

    private static void pool(JsonWriter json, PoolState pool) {
        json.beginObject()
                .field("name", pool.name())
                .field("balance", pool.balance())
                .field("backendsUp", pool.backendsUp())
                .field("backendsAvailable", pool.backendsAvailable());
        json.name("backends").beginArray();
        pool.backends().forEach(backend -> backend(json, backend));
        json.endArray().endObject();
    }

    private static void backend(JsonWriter json, BackendState backend) {
        json.beginObject()
                .field("name", backend.name())
                .field("address", backend.address())
                .field("backup", backend.backup())
                .field("health", backend.up() ? "up" : "down")
                .field("adminState", backend.adminState())
                .field("activeConnections", backend.activeConnections())
                .field("totalConnections", backend.totalConnections())
                .field("maxConnections", backend.maxConnections())
                .field("weight", backend.weight())
                .field("effectiveWeight", backend.effectiveWeight());
        lastCheck(json, backend.lastCheck());
        percentiles(json, "connectLatencyMillis", backend.connectLatency());
        percentiles(json, "checkDurationMillis", backend.checkDuration());
        instant(json, "drainDeadline", backend.drainDeadline());
        json.name("tlsCertExpiryDays");
        if (backend.tlsDaysToExpiry() == null) {
            json.nullValue();
        } else {
            json.value(backend.tlsDaysToExpiry());
        }
        json.endObject();
    }

    private static void lastCheck(JsonWriter json, CheckState check) {
        json.name("lastCheck");
        if (check == null) {
            json.nullValue();
            return;
        }
        json.beginObject()
                .field("time", check.time().toString())
                .field("passed", check.passed())
                .field("reason", check.reason())
                .field("detail", check.detail())
                .field("durationMillis", round(check.durationMillis()))
                .endObject();
    }

    private static void percentiles(JsonWriter json, String name, Percentiles percentiles) {
        json.name(name).beginObject().field("count", percentiles.count());
        if (percentiles.count() > 0) {
            json.field("p50", percentiles.p50Millis())
                    .field("p90", percentiles.p90Millis())
                    .field("p99", percentiles.p99Millis())
                    .field("p99_9", percentiles.p999Millis())
                    .field("max", percentiles.maxMillis());
        }
        json.endObject();
    }

    private static void instant(JsonWriter json, String name, Instant instant) {
        json.field(name, instant == null ? null : instant.toString());
    }

    private static void strings(JsonWriter json, String name, List<String> values) {
        json.name(name).beginArray();
        values.forEach(json::value);
        json.endArray();
    }

    private static double round(double millis) {
        return Math.round(millis * 1000) / 1000.0;
    }
}
