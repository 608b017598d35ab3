package io.smtplb.admin;

import io.smtplb.SmtpLoadBalancer;
import io.smtplb.testing.AdminBalancers;
import io.smtplb.testing.AdminBalancers.Session;
import io.smtplb.testing.AdminClient;
import io.smtplb.testing.MetricsText;
import io.smtplb.testing.ScriptedRelay;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The admin API's backend actions, token check and health response, observed on real SMTP traffic. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AdminApiTest {

    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path directory;

    @Test
    void drainStopsNewSessionsOnly() throws Exception {
        try (ScriptedRelay r1 = AdminBalancers.quitRelay("r1");
             ScriptedRelay r2 = AdminBalancers.quitRelay("r2");
             SmtpLoadBalancer balancer = start(twoRelays(r1, r2, ""))) {
            AdminClient admin = AdminBalancers.admin(balancer);
            Session onR1 = openSessionOn(balancer, "r1");

            HttpResponse<String> drain = admin.post("/api/pools/relays/backends/r1/drain");

            assertThat(drain.statusCode()).isEqualTo(200);
            assertThat(drain.body()).contains("\"adminState\": \"drain\"", "\"previousState\": \"ready\"",
                    "\"activeConnections\": 1");
            for (int i = 0; i < 6; i++) {
                try (Session fresh = Session.open(AdminBalancers.listener(balancer))) {
                    assertThat(fresh.greeting()).isEqualTo("220 r2 ESMTP");
                    assertThat(fresh.quit()).isEqualTo("221 r2 bye");
                }
            }
            assertThat(onR1.command("EHLO client.test")).isEqualTo("250 r1 ok");
            assertThat(onR1.quit()).isEqualTo("221 r1 bye");
            MetricsText metrics = admin.metrics();
            assertThat(metrics.value("smtplb_backend_admin_state", "pool", "relays", "backend", "r1", "state", "drain"))
                    .isEqualTo(1.0);
            assertThat(admin.get("/api/state").body()).contains("\"adminState\": \"drain\"");

            assertThat(admin.post("/api/pools/relays/backends/r1/ready").statusCode()).isEqualTo(200);
            assertThat(greetingsOf(balancer, 4)).contains("220 r1 ESMTP");
        }
    }

    @Test
    void maintenancePausesHealthChecksUntilReady() throws Exception {
        String fastChecks = "health-check { interval = 100ms, transition-interval = 100ms, jitter = 0s }";
        try (ScriptedRelay r1 = AdminBalancers.quitRelay("r1");
             ScriptedRelay r2 = AdminBalancers.quitRelay("r2");
             SmtpLoadBalancer balancer = start(twoRelays(r1, r2, fastChecks))) {
            AdminClient admin = AdminBalancers.admin(balancer);
            assertThat(AdminClient.await(WAIT, () -> r1.accepted() >= 3)).isTrue();

            assertThat(admin.post("/api/pools/relays/backends/r1/maintenance").statusCode()).isEqualTo(200);
            // The pause is queued on the backend's event loop; a check already under way may still finish.
            Thread.sleep(300);
            int pausedAt = r1.accepted();
            int r2Before = r2.accepted();
            assertThat(AdminClient.await(Duration.ofSeconds(1), () -> r2.accepted() >= r2Before + 5)).isTrue();
            assertThat(r1.accepted()).as("checks of r1 during maintenance").isEqualTo(pausedAt);
            try (Session fresh = Session.open(AdminBalancers.listener(balancer))) {
                assertThat(fresh.greeting()).isEqualTo("220 r2 ESMTP");
            }
            assertThat(admin.get("/").body()).contains("health checks paused");

            assertThat(admin.post("/api/pools/relays/backends/r1/ready").statusCode()).isEqualTo(200);
            assertThat(AdminClient.await(WAIT, () -> r1.accepted() >= pausedAt + 2)).isTrue();
        }
    }

    @Test
    void deadlineClosesRemainingSessions() throws Exception {
        Path accessLog = directory.resolve("access.log");
        String extra = "access-log { enabled = true, format = logfmt, file = \"" + accessLog + "\" }";
        try (ScriptedRelay r1 = AdminBalancers.quitRelay("r1");
             ScriptedRelay r2 = AdminBalancers.quitRelay("r2");
             SmtpLoadBalancer balancer = start(twoRelays(r1, r2, "").replace("access-log { enabled = false }", extra))) {
            AdminClient admin = AdminBalancers.admin(balancer);
            Session onR1 = openSessionOn(balancer, "r1");

            HttpResponse<String> drain = admin.post("/api/pools/relays/backends/r1/drain?deadline=300ms");

            assertThat(drain.statusCode()).isEqualTo(200);
            assertThat(drain.body()).contains("\"deadline\": \"20");
            assertThat(onR1.isClosedByPeer()).isTrue();
            assertThat(AdminClient.await(WAIT, () -> logContains(accessLog, "backend=r1", "reason=drained"))).isTrue();
            MetricsText metrics = admin.metrics();
            assertThat(metrics.value("smtplb_listener_sessions_closed_total", "listener", "test", "reason", "drained"))
                    .isEqualTo(1.0);
            assertThat(metrics.value("smtplb_backend_connections_active", "pool", "relays", "backend", "r1"))
                    .isEqualTo(0.0);
        }
    }

    @Test
    void postNeedsTheTokenAndGetDoesNot() throws Exception {
        try (ScriptedRelay r1 = AdminBalancers.quitRelay("r1");
             ScriptedRelay r2 = AdminBalancers.quitRelay("r2");
             SmtpLoadBalancer balancer = start(twoRelays(r1, r2, ""))) {
            AdminClient anonymous = new AdminClient(balancer.adminAddress(), null);
            AdminClient wrong = new AdminClient(balancer.adminAddress(), "not-the-token");

            HttpResponse<String> missing = anonymous.post("/api/pools/relays/backends/r1/drain");
            HttpResponse<String> rejected = wrong.post("/api/reload");

            assertThat(missing.statusCode()).isEqualTo(401);
            assertThat(missing.headers().firstValue("WWW-Authenticate")).contains("Bearer realm=\"smtplb\"");
            assertThat(missing.body()).contains("missing Authorization header");
            assertThat(rejected.statusCode()).isEqualTo(401);
            assertThat(rejected.body()).contains("wrong token");
            assertThat(balancer.pools().get("relays").backend("r1").adminState().name()).isEqualTo("READY");
            for (String path : List.of("/", "/health", "/metrics", "/api/state")) {
                assertThat(anonymous.get(path).statusCode()).as("GET %s", path).isEqualTo(200);
            }
            assertThat(AdminBalancers.admin(balancer).post("/api/pools/relays/backends/r1/drain").statusCode())
                    .isEqualTo(200);
        }
    }

    @Test
    void healthFailsWhenNoBackendAvailable() throws Exception {
        try (ScriptedRelay r1 = AdminBalancers.quitRelay("r1");
             ScriptedRelay r2 = AdminBalancers.quitRelay("r2");
             SmtpLoadBalancer balancer = start(twoRelays(r1, r2, ""))) {
            AdminClient admin = AdminBalancers.admin(balancer);
            HttpResponse<String> healthy = admin.get("/health");

            admin.post("/api/pools/relays/backends/r1/drain");
            admin.post("/api/pools/relays/backends/r2/maintenance");
            HttpResponse<String> unhealthy = admin.get("/health");
            admin.post("/api/pools/relays/backends/r2/ready");
            HttpResponse<String> recovered = admin.get("/health");

            assertThat(healthy.statusCode()).isEqualTo(200);
            assertThat(healthy.body()).isEqualTo("ok: 1 listeners bound, 1 pools with a backend available\n");
            assertThat(unhealthy.statusCode()).isEqualTo(503);
            assertThat(unhealthy.headers().firstValue("Content-Type")).contains("text/plain; charset=utf-8");
            assertThat(unhealthy.body()).isEqualTo(
                    "pool relays has no backend that can take new sessions (2 backends: 1 drain, 1 maintenance)\n");
            assertThat(recovered.statusCode()).isEqualTo(200);
        }
    }

    @Test
    void healthFailsWhenEveryBackendDown() throws Exception {
        String fastChecks = "health-check { interval = 100ms, transition-interval = 100ms, down-interval = 100ms, "
                + "fall = 1, jitter = 0s }";
        ScriptedRelay r1 = AdminBalancers.quitRelay("r1");
        ScriptedRelay r2 = AdminBalancers.quitRelay("r2");
        try (SmtpLoadBalancer balancer = start(twoRelays(r1, r2, fastChecks))) {
            AdminClient admin = AdminBalancers.admin(balancer);
            r1.close();
            r2.close();

            assertThat(AdminClient.await(WAIT, () -> statusOf(admin, "/health") == 503)).isTrue();
            assertThat(admin.get("/health").body())
                    .isEqualTo("pool relays has no backend that can take new sessions (2 backends: 2 down)\n");
            assertThat(admin.get("/api/state").body()).contains("\"health\": \"down\"", "\"reason\": \"connect-refused\"");
        }
    }

    @Test
    void wrongRequestsGetClearAnswers() throws Exception {
        try (ScriptedRelay r1 = AdminBalancers.quitRelay("r1");
             ScriptedRelay r2 = AdminBalancers.quitRelay("r2");
             SmtpLoadBalancer balancer = start(twoRelays(r1, r2, ""))) {
            AdminClient admin = AdminBalancers.admin(balancer);

            HttpResponse<String> unknownPath = admin.get("/nothing-here");
            HttpResponse<String> getReload = admin.get("/api/reload");
            HttpResponse<String> postHealth = admin.post("/health");
            HttpResponse<String> unknownBackend = admin.post("/api/pools/relays/backends/r9/drain");
            HttpResponse<String> unknownPool = admin.post("/api/pools/mx/backends/r1/drain");
            HttpResponse<String> unknownAction = admin.post("/api/pools/relays/backends/r1/pause");
            HttpResponse<String> badDeadline = admin.post("/api/pools/relays/backends/r1/drain?deadline=soon");
            HttpResponse<String> readyDeadline = admin.post("/api/pools/relays/backends/r1/ready?deadline=5s");

            assertThat(unknownPath.statusCode()).isEqualTo(404);
            assertThat(getReload.statusCode()).isEqualTo(405);
            assertThat(getReload.headers().firstValue("Allow")).contains("POST");
            assertThat(postHealth.statusCode()).isEqualTo(405);
            assertThat(postHealth.headers().firstValue("Allow")).contains("GET, HEAD");
            assertThat(unknownBackend.statusCode()).isEqualTo(404);
            assertThat(unknownBackend.body()).isEqualTo("backend relays/r9 not found (expected one of: r1, r2)\n");
            assertThat(unknownPool.body()).isEqualTo("pool mx not found (expected one of: relays)\n");
            assertThat(unknownAction.statusCode()).isEqualTo(400);
            assertThat(unknownAction.body()).contains("action: pause (expected: drain, maintenance or ready)");
            assertThat(badDeadline.statusCode()).isEqualTo(400);
            assertThat(badDeadline.body()).contains("deadline: soon (expected: a duration such as 30s");
            assertThat(readyDeadline.statusCode()).isEqualTo(400);
            assertThat(balancer.pools().get("relays").backend("r1").adminState().name()).isEqualTo("READY");
        }
    }

    @Test
    void stateListsPoolsAndBackends() throws Exception {
        try (ScriptedRelay r1 = AdminBalancers.quitRelay("r1");
             ScriptedRelay r2 = AdminBalancers.quitRelay("r2");
             SmtpLoadBalancer balancer = start(twoRelays(r1, r2, ""))) {
            AdminClient admin = AdminBalancers.admin(balancer);
            greetingsOf(balancer, 4);

            HttpResponse<String> state = admin.get("/api/state");

            assertThat(state.headers().firstValue("Content-Type")).contains("application/json");
            String listener = "127.0.0.1:" + AdminBalancers.listener(balancer).getPort();
            assertThat(state.body()).contains("\"name\": \"test\"", "\"bound\": true", "\"" + listener + "\"",
                    "\"acceptedConnections\": 4", "\"balance\": \"weighted-round-robin\"", "\"backendsUp\": 2",
                    "\"name\": \"r1\"", "\"name\": \"r2\"", "\"totalConnections\": 2", "\"health\": \"up\"",
                    "\"connectLatencyMillis\": {\n            \"count\": 2,", "\"p99_9\":");
        }
    }

    private SmtpLoadBalancer start(String config) throws Exception {
        return AdminBalancers.start(AdminBalancers.write(directory.resolve("smtplb.conf"), config));
    }

    private static String twoRelays(ScriptedRelay r1, ScriptedRelay r2, String poolExtra) {
        String pool = "balance = weighted-round-robin, " + poolExtra + (poolExtra.isEmpty() ? "" : ", ")
                + "backends = [ "
                + "{ name = r1, address = \"127.0.0.1:" + r1.port() + "\" }, "
                + "{ name = r2, address = \"127.0.0.1:" + r2.port() + "\" } ]";
        return AdminBalancers.config(pool, "");
    }

    /** Opens sessions until one lands on {@code relay}; closes the others. */
    private static Session openSessionOn(SmtpLoadBalancer balancer, String relay) throws Exception {
        for (int i = 0; i < 10; i++) {
            Session session = Session.open(AdminBalancers.listener(balancer));
            if (session.greeting().equals("220 " + relay + " ESMTP")) {
                return session;
            }
            session.quit();
        }
        throw new AssertionError("no session reached " + relay + " in 10 tries");
    }

    /** Runs {@code count} complete sessions and returns their greetings. */
    private static List<String> greetingsOf(SmtpLoadBalancer balancer, int count) throws Exception {
        List<String> greetings = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            try (Session session = Session.open(AdminBalancers.listener(balancer))) {
                greetings.add(session.greeting());
                session.quit();
            }
        }
        return greetings;
    }

    private static boolean logContains(Path log, String... parts) {
        try {
            return Files.exists(log) && Files.readAllLines(log).stream()
                    .anyMatch(line -> List.of(parts).stream().allMatch(line::contains));
        } catch (java.io.IOException e) {
            throw new AssertionError("reading " + log + " failed", e);
        }
    }

    private static int statusOf(AdminClient admin, String path) {
        try {
            return admin.get(path).statusCode();
        } catch (Exception e) {
            throw new AssertionError("GET " + path + " failed", e);
        }
    }
}
