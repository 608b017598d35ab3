package io.smtplb.admin;

import io.smtplb.SmtpLoadBalancer;
import io.smtplb.balance.Backend.AdminState;
import io.smtplb.testing.AdminBalancers;
import io.smtplb.testing.ScriptedRelay;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code smtplb ctl} against a running balancer, and its messages when something is wrong. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class CtlCommandTest {

    @TempDir
    Path directory;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    @Test
    void changesBackendStatesAndReloads() throws Exception {
        try (ScriptedRelay r1 = AdminBalancers.quitRelay("r1");
             SmtpLoadBalancer balancer = start(r1)) {
            String admin = "127.0.0.1:" + balancer.adminAddress().getPort();

            int drain = ctl(Map.of(), "--admin", admin, "--token", AdminBalancers.TOKEN, "drain", "relays", "r1",
                    "--deadline", "30s");
            String drainOutput = output();
            AdminState drained = balancer.pools().get("relays").backend("r1").adminState();
            int maintenance = ctl(Map.of(CtlCommand.TOKEN_VARIABLE, AdminBalancers.TOKEN), "--admin", admin,
                    "maintenance", "relays", "r1");
            AdminState inMaintenance = balancer.pools().get("relays").backend("r1").adminState();
            int ready = ctl(Map.of(CtlCommand.TOKEN_VARIABLE, AdminBalancers.TOKEN), "--admin", admin,
                    "ready", "relays", "r1");
            int reload = ctl(Map.of(CtlCommand.TOKEN_VARIABLE, AdminBalancers.TOKEN), "--admin", admin, "reload");
            String reloadOutput = output();
            int state = ctl(Map.of(), "--admin", admin, "state");

            assertThat(drain).isEqualTo(0);
            assertThat(drainOutput).contains("\"adminState\": \"drain\"", "\"deadline\": \"20");
            assertThat(drained).isEqualTo(AdminState.DRAIN);
            assertThat(maintenance).isEqualTo(0);
            assertThat(inMaintenance).isEqualTo(AdminState.MAINTENANCE);
            assertThat(ready).isEqualTo(0);
            assertThat(balancer.pools().get("relays").backend("r1").adminState()).isEqualTo(AdminState.READY);
            assertThat(balancer.backendAdmin().deadlineOf(balancer.pools().get("relays").backend("r1"))).isNull();
            assertThat(reload).isEqualTo(0);
            assertThat(reloadOutput).contains("\"applied\": true");
            assertThat(state).isEqualTo(0);
            assertThat(output()).contains("\"pools\": [", "\"name\": \"r1\"", "\"adminState\": \"ready\"");
            assertThat(errors()).isEmpty();
        }
    }

    @Test
    void missingTokenIsExplained() throws Exception {
        try (ScriptedRelay r1 = AdminBalancers.quitRelay("r1");
             SmtpLoadBalancer balancer = start(r1)) {
            String admin = "127.0.0.1:" + balancer.adminAddress().getPort();

            int status = ctl(Map.of(), "--admin", admin, "drain", "relays", "r1");

            assertThat(status).isEqualTo(1);
            assertThat(errors()).isEqualTo("smtplb ctl: drain: HTTP 401: unauthorized: missing Authorization header "
                    + "(expected: Authorization: Bearer <admin.token>); pass --token or set SMTPLB_ADMIN_TOKEN\n");
            assertThat(balancer.pools().get("relays").backend("r1").adminState()).isEqualTo(AdminState.READY);
        }
    }

    @Test
    void unknownBackendIsExplained() throws Exception {
        try (ScriptedRelay r1 = AdminBalancers.quitRelay("r1");
             SmtpLoadBalancer balancer = start(r1)) {
            String admin = "127.0.0.1:" + balancer.adminAddress().getPort();

            int status = ctl(Map.of(), "--admin", admin, "--token", AdminBalancers.TOKEN, "ready", "relays", "mx9");

            assertThat(status).isEqualTo(1);
            assertThat(errors()).isEqualTo("smtplb ctl: ready: HTTP 404:\n"
                    + "backend relays/mx9 not found (expected one of: r1)\n");
        }
    }

    @Test
    void unreachableEndpointIsExplained() throws Exception {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }

        int status = ctl(Map.of(), "--admin", "127.0.0.1:" + closedPort, "state");

        assertThat(status).isEqualTo(1);
        assertThat(errors()).isEqualTo("smtplb ctl: cannot reach the admin endpoint at http://127.0.0.1:" + closedPort
                + ": connection refused (is smtplb running with admin.bind = \"127.0.0.1:" + closedPort
                + "\"? use --admin HOST:PORT for another address)\n");
    }

    @Test
    void wrongCommandLinesExitWithUsage() {
        List<String> firstLines = new ArrayList<>();
        List<Integer> statuses = new ArrayList<>();
        for (String[] arguments : List.of(new String[] {"frobnicate"}, new String[] {"drain", "relays"},
                new String[] {"ready", "relays", "r1", "--deadline", "5s"},
                new String[] {"drain", "relays", "r1", "--deadline", "soon"}, new String[] {"--admin"},
                new String[0])) {
            statuses.add(ctl(Map.of(), arguments));
            firstLines.add(errors().lines().findFirst().orElse(""));
            err.reset();
        }

        assertThat(statuses).containsOnly(2);
        assertThat(firstLines).containsExactly(
                "smtplb ctl: unknown command: frobnicate (expected: state, drain, maintenance, ready, reload)",
                "smtplb ctl: drain: 1 argument (expected: POOL BACKEND)",
                "smtplb ctl: --deadline applies to drain and maintenance only",
                "smtplb ctl: --deadline: soon (expected: a duration such as 30s, 500ms, 2m or 1h)",
                "smtplb ctl: missing value for --admin",
                "smtplb ctl: missing command (expected: state, drain, maintenance, ready, reload)");
    }

    @Test
    void helpPrintsUsage() {
        assertThat(ctl(Map.of(), "--help")).isEqualTo(0);
        assertThat(output()).startsWith("Usage: smtplb ctl [--admin HOST:PORT] [--token TOKEN] <command>");
    }

    private SmtpLoadBalancer start(ScriptedRelay relay) throws Exception {
        String pool = "health-check { type = none }, backends = [ { name = r1, address = \"127.0.0.1:"
                + relay.port() + "\" } ]";
        return AdminBalancers.start(AdminBalancers.write(directory.resolve("smtplb.conf"),
                AdminBalancers.config(pool, "")));
    }

    private int ctl(Map<String, String> environment, String... arguments) {
        return CtlCommand.run(arguments, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), environment);
    }

    /** Returns and clears what was printed to standard output. */
    private String output() {
        String text = out.toString(StandardCharsets.UTF_8);
        out.reset();
        return text;
    }

    private String errors() {
        return err.toString(StandardCharsets.UTF_8);
    }
}
