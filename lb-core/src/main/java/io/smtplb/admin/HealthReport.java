package io.smtplb.admin;

import io.smtplb.admin.BalancerState.BackendState;
import io.smtplb.admin.BalancerState.ListenerState;
import io.smtplb.admin.BalancerState.PoolState;

import java.util.ArrayList;
import java.util.List;

/**
 * The response to {@code GET /health}, which keepalived's track script and upstream balancers call: healthy
 * when every configured listener is bound and every pool has a backend that can take a new session (up and
 * ready). A pool whose backends are all drained or in maintenance counts as unhealthy too, because its
 * clients would get 421, so a standby node should take over.
 *
 * @param healthy whether the node can serve every listener
 * @param lines one line per problem, or one summary line when healthy
 */
record HealthReport(boolean healthy, List<String> lines) {

    static HealthReport of(BalancerState state) {
        List<String> problems = new ArrayList<>();
        for (ListenerState listener : state.listeners()) {
            if (!listener.bound()) {
                problems.add("listener " + listener.name() + " is not bound");
            }
        }
        for (PoolState pool : state.pools()) {
            if (pool.backendsAvailable() == 0) {
                problems.add("pool " + pool.name() + " has no backend that can take new sessions ("
                        + describe(pool) + ")");
            }
        }
        if (!problems.isEmpty()) {
            return new HealthReport(false, problems);
        }
        return new HealthReport(true, List.of("ok: " + state.listeners().size() + " listeners bound, "
                + state.pools().size() + " pools with a backend available"));
    }

    /** Returns the body: the lines, each ended by a newline. */
    String body() {
        return String.join("\n", lines) + "\n";
    }

    /** Summarises why a pool has nothing available, such as {@code 3 backends: 1 down, 2 drain}. */
    private static String describe(PoolState pool) {
        int down = 0;
        int drain = 0;
        int maintenance = 0;
        for (BackendState backend : pool.backends()) {
            if (!backend.up()) {
                down++;
            } else if (backend.adminState().equals("maintenance")) {
                maintenance++;
            } else if (backend.adminState().equals("drain")) {
                drain++;
            }
        }
        StringBuilder text = new StringBuilder().append(pool.backends().size()).append(" backends");
        String separator = ": ";
        if (down > 0) {
            text.append(separator).append(down).append(" down");
            separator = ", ";
        }
        if (drain > 0) {
            text.append(separator).append(drain).append(" drain");
            separator = ", ";
        }
        if (maintenance > 0) {
            text.append(separator).append(maintenance).append(" maintenance");
        }
        return text.toString();
    }
}
