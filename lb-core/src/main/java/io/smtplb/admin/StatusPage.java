package io.smtplb.admin;

import io.smtplb.admin.BalancerState.BackendState;
import io.smtplb.admin.BalancerState.CheckState;
import io.smtplb.admin.BalancerState.ListenerState;
import io.smtplb.admin.BalancerState.PoolState;
import io.smtplb.metrics.LatencyRecorder.Percentiles;

import java.time.Duration;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/**
 * The read-only status page at {@code GET /}: listeners, pools and backends as plain HTML tables that read
 * without JavaScript or external resources. The page reloads itself every {@value #REFRESH_SECONDS} seconds.
 */
final class StatusPage {

    static final int REFRESH_SECONDS = 5;
    private static final DateTimeFormatter CLOCK =
            DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'").withZone(ZoneOffset.UTC);
    private static final String STYLE = """
            body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
            h1 { font-size: 1.4em; margin-bottom: 0.2em; }
            h2 { font-size: 1.15em; margin: 1.4em 0 0.3em; }
            p.meta { color: #555; margin-top: 0; }
            table { border-collapse: collapse; margin-bottom: 0.5em; }
            th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
            th { background: #f2f2f2; }
            td.num { text-align: right; font-variant-numeric: tabular-nums; }
            .up { background: #d9f2d9; font-weight: bold; }
            .down { background: #f8d0d0; font-weight: bold; }
            .drain, .maintenance { background: #fbeec1; }
            .detail { color: #555; font-size: 0.9em; }
            """;

    private StatusPage() {
    }

    /** Renders the page for one captured state. */
    static String render(BalancerState state) {
        StringBuilder html = new StringBuilder(8192);
        html.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
                .append("<meta http-equiv=\"refresh\" content=\"").append(REFRESH_SECONDS).append("\">\n")
                .append("<title>smtplb status</title>\n<style>\n").append(STYLE).append("</style>\n</head>\n<body>\n")
                .append("<h1>smtplb</h1>\n<p class=\"meta\">version ").append(escape(state.version()))
                .append(" · ").append(state.transport()).append(" transport · ").append(state.forwarding())
                .append(" forwarding · up ").append(uptime(state)).append(" · <span id=\"open-sessions\">")
                .append(state.openSessions()).append("</span> open sessions · updated ")
                .append(CLOCK.format(state.time())).append("</p>\n");
        listeners(html, state);
        for (PoolState pool : state.pools()) {
            pool(html, state, pool);
        }
        return html.append("</body>\n</html>\n").toString();
    }

    private static void listeners(StringBuilder html, BalancerState state) {
        html.append("<h2>Listeners</h2>\n<table id=\"listeners\">\n<tr><th>Listener</th><th>Addresses</th>")
                .append("<th>Pool</th><th>State</th><th>Open sessions</th><th>Accepted</th></tr>\n");
        for (ListenerState listener : state.listeners()) {
            html.append("<tr data-listener=\"").append(escape(listener.name())).append("\"><td>")
                    .append(escape(listener.name())).append("</td><td>")
                    .append(escape(String.join(", ", listener.addresses()))).append("</td><td>")
                    .append(escape(listener.pool())).append("</td>")
                    .append(listener.bound() ? "<td class=\"up\">BOUND</td>" : "<td class=\"down\">NOT BOUND</td>")
                    .append(number(listener.activeSessions())).append(number(listener.acceptedConnections()))
                    .append("</tr>\n");
        }
        html.append("</table>\n");
    }

    private static void pool(StringBuilder html, BalancerState state, PoolState pool) {
        html.append("<h2 id=\"pool-").append(escape(pool.name())).append("\">Pool ").append(escape(pool.name()))
                .append("</h2>\n<p class=\"meta\">").append(pool.balance()).append(" · ")
                .append(pool.backendsUp()).append(" of ").append(pool.backends().size()).append(" backends up, ")
                .append(pool.backendsAvailable()).append(" taking new sessions</p>\n")
                .append("<table class=\"backends\" data-pool=\"").append(escape(pool.name())).append("\">\n")
                .append("<tr><th>Backend</th><th>Address</th><th>Health</th><th>Admin state</th>")
                .append("<th>Open</th><th>Total</th><th>Weight</th><th>Last check</th>")
                .append("<th>Connect p50 / p99</th></tr>\n");
        for (BackendState backend : pool.backends()) {
            backend(html, state, backend);
        }
        html.append("</table>\n");
    }

    private static void backend(StringBuilder html, BalancerState state, BackendState backend) {
        html.append("<tr data-backend=\"").append(escape(backend.name())).append("\"><td>")
                .append(escape(backend.name())).append(backend.backup() ? " (backup)" : "").append("</td><td>")
                .append(escape(backend.address())).append("</td>")
                .append(backend.up() ? "<td class=\"up\">UP</td>" : "<td class=\"down\">DOWN</td>")
                .append("<td class=\"").append(backend.adminState()).append("\">")
                .append(backend.adminState().toUpperCase(Locale.ROOT));
        if (backend.adminState().equals("maintenance")) {
            html.append("<br><span class=\"detail\">health checks paused</span>");
        }
        if (backend.drainDeadline() != null) {
            html.append("<br><span class=\"detail\">closes open sessions at ")
                    .append(CLOCK.format(backend.drainDeadline())).append("</span>");
        }
        html.append("</td>").append(number(backend.activeConnections())).append(number(backend.totalConnections()))
                .append("<td class=\"num\">").append(weight(backend)).append("</td><td>")
                .append(lastCheck(state, backend.lastCheck())).append("</td><td class=\"num\">")
                .append(latency(backend.connectLatency())).append("</td></tr>\n");
    }

    private static String weight(BackendState backend) {
        if (backend.effectiveWeight() == backend.weight()) {
            return Integer.toString(backend.weight());
        }
        return backend.effectiveWeight() + " of " + backend.weight() + " (slow start)";
    }

    private static String lastCheck(BalancerState state, CheckState check) {
        if (check == null) {
            return "none yet";
        }
        String ago = seconds(Duration.between(check.time(), state.time())) + " ago";
        if (check.passed()) {
            String warning = check.detail() == null ? ""
                    : "<br><span class=\"detail\">" + escape(check.detail()) + "</span>";
            return "passed " + ago + warning;
        }
        String detail = check.detail() == null ? ""
                : "<br><span class=\"detail\">" + escape(check.detail()) + "</span>";
        return "<strong>failed</strong> " + ago + " (" + escape(check.reason()) + ")" + detail;
    }

    private static String latency(Percentiles percentiles) {
        if (percentiles.count() == 0) {
            return "-";
        }
        return String.format(Locale.ROOT, "%.2f / %.2f ms", percentiles.p50Millis(),
                percentiles.p99Millis());
    }

    private static String number(long value) {
        return "<td class=\"num\">" + value + "</td>";
    }

    private static String uptime(BalancerState state) {
        Duration up = Duration.between(state.started(), state.time());
        if (up.toHours() > 0) {
            return up.toHours() + " h " + up.toMinutesPart() + " min";
        }
        return up.toMinutes() > 0 ? up.toMinutes() + " min " + up.toSecondsPart() + " s" : up.toSeconds() + " s";
    }

    private static String seconds(Duration duration) {
        return Math.max(0, duration.toSeconds()) + " s";
    }

    static String escape(String text) {
        if (text == null) {
            return "";
        }
        StringBuilder escaped = new StringBuilder(text.length() + 16);
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '<' -> escaped.append("&lt;");
                case '>' -> escaped.append("&gt;");
                case '&' -> escaped.append("&amp;");
                case '"' -> escaped.append("&quot;");
                case '\'' -> escaped.append("&#39;");
                default -> escaped.append(c);
            }
        }
        return escaped.toString();
    }
}
