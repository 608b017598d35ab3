package io.smtplb.metrics;

import io.smtplb.SmtpLoadBalancer;
import io.smtplb.testing.AdminBalancers;
import io.smtplb.testing.AdminBalancers.Session;
import io.smtplb.testing.AdminClient;
import io.smtplb.testing.MetricsText;
import io.smtplb.testing.ScriptedRelay;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.ServerSocket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code GET /metrics} after real SMTP sessions through the balancer, parsed strictly. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class MetricsEndpointTest {

    private static final int SESSIONS = 10;
    private static final String EHLO = "EHLO client.test";

    @TempDir
    Path directory;

    @Test
    void countsSessionsBytesAndGreetings() throws Exception {
        try (ScriptedRelay r1 = AdminBalancers.quitRelay("r1");
             ScriptedRelay r2 = AdminBalancers.quitRelay("r2");
             SmtpLoadBalancer balancer = start(twoRelays(r1, r2, 1))) {
            AdminClient admin = AdminBalancers.admin(balancer);
            for (int i = 0; i < SESSIONS; i++) {
                runSession(balancer);
            }
            assertThat(AdminClient.await(Duration.ofSeconds(5), () -> activeSessions(admin) == 0)).isTrue();

            MetricsText metrics = admin.metrics();
            assertThat(metrics.value("smtplb_listener_connections_total", "listener", "test")).isEqualTo(10.0);
            for (String backend : List.of("r1", "r2")) {
                assertBackendCounted(metrics, backend, SESSIONS / 2);
            }
            assertThat(closedSessions(metrics)).isEqualTo(10.0);
            assertThat(metrics.value("smtplb_listener_rejected_total", "listener", "test", "reason", "no-backend"))
                    .isEqualTo(0.0);
        }
    }

    @Test
    void mirrorsRuntimeStateAndHealthChecks() throws Exception {
        try (ScriptedRelay r1 = AdminBalancers.quitRelay("r1");
             ScriptedRelay r2 = AdminBalancers.quitRelay("r2");
             SmtpLoadBalancer balancer = start(twoRelays(r1, r2));
             Session open = Session.open(AdminBalancers.listener(balancer))) {
            AdminClient admin = AdminBalancers.admin(balancer);
            assertThat(AdminClient.await(Duration.ofSeconds(10), () -> checksCompleted(admin, "r1") >= 2)).isTrue();

            MetricsText metrics = admin.metrics();
            String carrier = open.greeting().split(" ")[1];
            assertThat(metrics.value("smtplb_listener_connections_active", "listener", "test")).isEqualTo(1.0);
            assertThat(metrics.value("smtplb_backend_connections_active", "pool", "relays", "backend", carrier))
                    .isEqualTo(1.0);
            assertThat(metrics.value("smtplb_backend_up", "pool", "relays", "backend", "r1")).isEqualTo(1.0);
            assertThat(metrics.value("smtplb_backend_admin_state", "pool", "relays", "backend", "r1", "state", "ready"))
                    .isEqualTo(1.0);
            assertThat(metrics.value("smtplb_backend_admin_state", "pool", "relays", "backend", "r1", "state", "drain"))
                    .isEqualTo(0.0);
            assertThat(metrics.value("smtplb_backend_weight", "pool", "relays", "backend", "r2")).isEqualTo(3.0);
            assertThat(metrics.value("smtplb_backend_effective_weight", "pool", "relays", "backend", "r2"))
                    .isEqualTo(3.0);
            assertThat(metrics.value("smtplb_backend_check_last_success", "pool", "relays", "backend", "r1"))
                    .isEqualTo(1.0);
            assertThat(metrics.value("smtplb_listener_bound", "listener", "test")).isEqualTo(1.0);
            assertThat(metrics.value("smtplb_config_reloads_total", "result", "success")).isEqualTo(0.0);
            assertThat(open.quit()).isEqualTo("221 " + carrier + " bye");
        }
    }

    @Test
    void countsConnectFailuresAndRejectionsByReason() throws Exception {
        int closedPort;
        try (ServerSocket unused = new ServerSocket(0)) {
            closedPort = unused.getLocalPort();
        }
        String pool = "connect-attempts = 1, health-check { type = none }, backends = [ "
                + "{ name = dead, address = \"127.0.0.1:" + closedPort + "\" } ]";
        try (SmtpLoadBalancer balancer = start(AdminBalancers.config(pool, ""))) {
            AdminClient admin = AdminBalancers.admin(balancer);
            try (Session refused = Session.open(AdminBalancers.listener(balancer))) {
                assertThat(refused.greeting()).startsWith("421 ");
            }
            admin.post("/api/pools/relays/backends/dead/drain");
            for (int i = 0; i < 2; i++) {
                try (Session turnedAway = Session.open(AdminBalancers.listener(balancer))) {
                    assertThat(turnedAway.greeting()).startsWith("421 ");
                }
            }
            assertThat(AdminClient.await(Duration.ofSeconds(5), () -> activeSessions(admin) == 0)).isTrue();

            MetricsText metrics = admin.metrics();
            assertThat(metrics.value("smtplb_backend_connect_failures_total", "pool", "relays", "backend", "dead",
                    "reason", "connect-refused")).isEqualTo(1.0);
            assertThat(metrics.value("smtplb_listener_rejected_total", "listener", "test", "reason",
                    "connect-failed")).isEqualTo(1.0);
            assertThat(metrics.value("smtplb_listener_rejected_total", "listener", "test", "reason", "no-backend"))
                    .isEqualTo(2.0);
            assertThat(metrics.value("smtplb_backend_connections_total", "pool", "relays", "backend", "dead"))
                    .isEqualTo(0.0);
        }
    }

    @Test
    void declaresFamiliesWithHelpAndType() throws Exception {
        try (ScriptedRelay r1 = AdminBalancers.quitRelay("r1");
             ScriptedRelay r2 = AdminBalancers.quitRelay("r2");
             SmtpLoadBalancer balancer = start(twoRelays(r1, r2))) {
            runSession(balancer);
            MetricsText metrics = AdminBalancers.admin(balancer).metrics();

            for (String family : metrics.families()) {
                if (family.startsWith("smtplb_")) {
                    assertThat(metrics.help(family)).as("HELP of %s", family).isNotBlank();
                }
            }
            assertThat(metrics.type("smtplb_listener_connections_total")).isEqualTo("counter");
            assertThat(metrics.type("smtplb_backend_up")).isEqualTo("gauge");
            assertThat(metrics.type("smtplb_backend_connect_duration_seconds")).isEqualTo("histogram");
            assertThat(metrics.type("smtplb_backend_session_duration_seconds")).isEqualTo("histogram");
            assertThat(metrics.type("smtplb_backend_check_duration_seconds")).isEqualTo("histogram");
            // Smooth weighted round-robin sends the first session to the heaviest backend, r2.
            assertThat(metrics.value("smtplb_backend_connect_duration_seconds_bucket", "pool", "relays",
                    "backend", "r2", "le", "+Inf")).isEqualTo(1.0);
            assertThat(metrics.value("smtplb_backend_connect_duration_seconds_bucket", "pool", "relays",
                    "backend", "r1", "le", "+Inf")).isEqualTo(0.0);
            assertThat(metrics.series("jvm_memory_used_bytes")).isNotEmpty();
            assertThat(metrics.series("process_cpu_seconds_total")).isNotEmpty();
            assertThat(metrics.value("smtplb_access_log_lines_dropped_total")).isEqualTo(0.0);
        }
    }

    @Test
    void servesOpenMetricsWhenAcceptAsksForIt() throws Exception {
        try (ScriptedRelay r1 = AdminBalancers.quitRelay("r1");
             ScriptedRelay r2 = AdminBalancers.quitRelay("r2");
             SmtpLoadBalancer balancer = start(twoRelays(r1, r2))) {
            AdminClient admin = AdminBalancers.admin(balancer);

            HttpResponse<String> open = admin.get("/metrics", "application/openmetrics-text; version=1.0.0");
            HttpResponse<String> text = admin.get("/metrics");

            assertThat(open.headers().firstValue("Content-Type")).get().asString()
                    .startsWith("application/openmetrics-text");
            assertThat(open.body()).endsWith("# EOF\n").contains("# UNIT smtplb_backend_connect_duration_seconds seconds");
            assertThat(text.headers().firstValue("Content-Type")).get().asString()
                    .startsWith("text/plain; version=0.0.4");
        }
    }

    private SmtpLoadBalancer start(String config) throws Exception {
        return AdminBalancers.start(AdminBalancers.write(directory.resolve("smtplb.conf"), config));
    }

    /** Two relays, r2 with weight 3, under smooth weighted round-robin and fast SMTP health checks. */
    private static String twoRelays(ScriptedRelay r1, ScriptedRelay r2) {
        return twoRelays(r1, r2, 3);
    }

    private static String twoRelays(ScriptedRelay r1, ScriptedRelay r2, int weight2) {
        String pool = "balance = weighted-round-robin, health-check { interval = 200ms, transition-interval = 200ms },"
                + " backends = [ { name = r1, address = \"127.0.0.1:" + r1.port() + "\" },"
                + " { name = r2, address = \"127.0.0.1:" + r2.port() + "\", weight = " + weight2 + " } ]";
        return AdminBalancers.config(pool, "");
    }

    /** One SMTP session: greeting, EHLO, QUIT. */
    private static void runSession(SmtpLoadBalancer balancer) throws Exception {
        try (Session session = Session.open(AdminBalancers.listener(balancer))) {
            String name = session.greeting().split(" ")[1];
            assertThat(session.command(EHLO)).isEqualTo("250 " + name + " ok");
            assertThat(session.quit()).isEqualTo("221 " + name + " bye");
        }
    }

    private static void assertBackendCounted(MetricsText metrics, String backend, int sessions) {
        String[] labels = {"pool", "relays", "backend", backend};
        int fromClient = bytes(EHLO) + bytes("QUIT");
        int toClient = bytes("220 " + backend + " ESMTP") + bytes("250 " + backend + " ok") + bytes("221 " + backend + " bye");
        assertThat(metrics.value("smtplb_backend_connections_total", labels)).isEqualTo((double) sessions);
        assertThat(metrics.value("smtplb_backend_greeting_total", "pool", "relays", "backend", backend, "code", "220"))
                .isEqualTo((double) sessions);
        assertThat(metrics.value("smtplb_backend_bytes_total", "pool", "relays", "backend", backend, "direction",
                "from_client")).isEqualTo((double) sessions * fromClient);
        assertThat(metrics.value("smtplb_backend_bytes_total", "pool", "relays", "backend", backend, "direction",
                "to_client")).isEqualTo((double) sessions * toClient);
        assertThat(metrics.value("smtplb_backend_connect_duration_seconds_count", labels)).isEqualTo((double) sessions);
        assertThat(metrics.value("smtplb_backend_session_duration_seconds_count", labels)).isEqualTo((double) sessions);
        assertThat(metrics.value("smtplb_backend_connections_active", labels)).isEqualTo(0.0);
    }

    private static int bytes(String line) {
        return (line + "\r\n").getBytes(StandardCharsets.US_ASCII).length;
    }

    private static double closedSessions(MetricsText metrics) {
        double total = 0;
        for (String reason : List.of("client-closed", "relay-closed", "idle-timeout", "connect-failed", "no-backend",
                "over-limit", "denied", "drained", "shutdown", "error")) {
            total += metrics.value("smtplb_listener_sessions_closed_total", "listener", "test", "reason", reason);
        }
        return total;
    }

    private static double activeSessions(AdminClient admin) {
        try {
            return admin.metrics().value("smtplb_listener_connections_active", "listener", "test");
        } catch (Exception e) {
            throw new AssertionError("scraping /metrics failed", e);
        }
    }

    private static double checksCompleted(AdminClient admin, String backend) {
        try {
            Double count = admin.metrics().value("smtplb_backend_check_duration_seconds_count", "pool", "relays",
                    "backend", backend);
            return count == null ? 0 : count;
        } catch (Exception e) {
            throw new AssertionError("scraping /metrics failed", e);
        }
    }
}
