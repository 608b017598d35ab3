package io.smtplb.accesslog;

import io.smtplb.SmtpLoadBalancer;
import io.smtplb.config.Settings.AccessLogFormat;
import io.smtplb.proxy.CloseReason;
import io.smtplb.proxy.SessionRecord;
import io.smtplb.testing.AdminBalancers;
import io.smtplb.testing.AdminBalancers.Session;
import io.smtplb.testing.AdminClient;
import io.smtplb.testing.ScriptedRelay;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** Access log lines of real sessions in both formats, and the formatting rules for awkward values. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AccessLogTest {

    private static final String LOGFMT_CARRIED = "time=\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z "
            + "id=[0-9a-f]{8} client=127\\.0\\.0\\.1:\\d+ listener=test pool=relays backend=r1 "
            + "backend_address=127\\.0\\.0\\.1:\\d+ attempts=1 connect_ms=\\d+\\.\\d{3} greeting=220 "
            + "duration_ms=\\d+\\.\\d{3} bytes_from_client=24 bytes_to_client=37 reason=relay-closed";
    private static final String JSON_CARRIED = "\\{\"time\":\"[0-9T:.-]+Z\",\"id\":\"[0-9a-f]{8}\","
            + "\"client\":\"127\\.0\\.0\\.1:\\d+\",\"listener\":\"test\",\"pool\":\"relays\",\"backend\":\"r1\","
            + "\"backend_address\":\"127\\.0\\.0\\.1:\\d+\",\"attempts\":1,\"connect_ms\":\\d+\\.\\d{3},"
            + "\"greeting\":220,\"duration_ms\":\\d+\\.\\d{3},\"bytes_from_client\":24,\"bytes_to_client\":37,"
            + "\"reason\":\"relay-closed\"}";

    @TempDir
    Path directory;

    @Test
    void logfmtLinesDescribeSessions() throws Exception {
        List<String> lines = sessionsLogged("logfmt");

        assertThat(lines).hasSize(2);
        assertThat(lines.get(0)).matches(LOGFMT_CARRIED);
        assertThat(lines.get(1)).matches("time=\\S+ id=[0-9a-f]{8} client=127\\.0\\.0\\.1:\\d+ listener=test "
                + "pool=relays backend=- backend_address=- attempts=0 connect_ms=- greeting=- "
                // 52 bytes: the 421 line smtplb itself sent, with its CRLF.
                + "duration_ms=\\d+\\.\\d{3} bytes_from_client=0 bytes_to_client=52 reason=no-backend");
    }

    @Test
    void jsonLinesDescribeSessions() throws Exception {
        List<String> lines = sessionsLogged("json");

        assertThat(lines).hasSize(2);
        assertThat(lines.get(0)).matches(JSON_CARRIED);
        assertThat(lines.get(1)).contains("\"backend\":null,\"backend_address\":null,\"attempts\":0,"
                + "\"connect_ms\":null,\"greeting\":null,").endsWith("\"reason\":\"no-backend\"}");
    }

    @Test
    void reloadReopensTheFileAfterRotation() throws Exception {
        Path log = directory.resolve("access.log");
        Path rotated = directory.resolve("access.log.1");
        try (ScriptedRelay r1 = AdminBalancers.quitRelay("r1");
             SmtpLoadBalancer balancer = start(r1, "logfmt", log)) {
            runSession(balancer);
            assertThat(AdminClient.await(Duration.ofSeconds(5), () -> lines(log).size() == 1)).isTrue();
            Files.move(log, rotated);

            assertThat(balancer.reload().applied()).isTrue();
            runSession(balancer);

            assertThat(AdminClient.await(Duration.ofSeconds(5), () -> lines(log).size() == 1)).isTrue();
            assertThat(lines(rotated)).hasSize(1);
        }
    }

    @Test
    void formatterQuotesAwkwardValues() {
        SessionRecord session = new SessionRecord("0000002a", 1_700_000_000_123L,
                new InetSocketAddress(ipv6(), 50123), "smtp in", "relays", "mx \"1\"",
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 25), 2, 1_234_567, 421, 2_000_999_999,
                -1, 100, CloseReason.CONNECT_FAILED);

        String logfmt = AccessLogFormatter.of(AccessLogFormat.LOGFMT).format(session);
        String json = AccessLogFormatter.of(AccessLogFormat.JSON).format(session);

        assertThat(logfmt).isEqualTo("time=2023-11-14T22:13:22.123Z id=0000002a client=[2001:db8::1]:50123 "
                + "listener=\"smtp in\" pool=relays backend=\"mx \\\"1\\\"\" backend_address=127.0.0.1:25 "
                + "attempts=2 connect_ms=1.234 greeting=421 duration_ms=2000.999 bytes_from_client=- "
                + "bytes_to_client=100 reason=connect-failed");
        assertThat(json).isEqualTo("{\"time\":\"2023-11-14T22:13:22.123Z\",\"id\":\"0000002a\","
                + "\"client\":\"[2001:db8::1]:50123\",\"listener\":\"smtp in\",\"pool\":\"relays\","
                + "\"backend\":\"mx \\\"1\\\"\",\"backend_address\":\"127.0.0.1:25\",\"attempts\":2,"
                + "\"connect_ms\":1.234,\"greeting\":421,\"duration_ms\":2000.999,\"bytes_from_client\":null,"
                + "\"bytes_to_client\":100,\"reason\":\"connect-failed\"}");
    }

    @Test
    void unwritableFileStopsTheStartWithItsName() {
        Path missingDirectory = directory.resolve("no-such-directory").resolve("access.log");
        var settings = new io.smtplb.config.Settings.AccessLogSettings(true, AccessLogFormat.LOGFMT,
                missingDirectory);

        org.assertj.core.api.Assertions.assertThatThrownBy(() -> AccessLog.start(settings))
                .isInstanceOf(java.io.UncheckedIOException.class)
                .hasMessageStartingWith("access-log.file: cannot open " + missingDirectory + " for appending");
    }

    /** Runs one session that a relay carries, then drains the relay and runs one that is rejected. */
    private List<String> sessionsLogged(String format) throws Exception {
        Path log = directory.resolve("access-" + format + ".log");
        try (ScriptedRelay r1 = AdminBalancers.quitRelay("r1");
             SmtpLoadBalancer balancer = start(r1, format, log)) {
            runSession(balancer);
            AdminBalancers.admin(balancer).post("/api/pools/relays/backends/r1/drain");
            try (Session rejected = Session.open(AdminBalancers.listener(balancer))) {
                assertThat(rejected.greeting()).startsWith("421 ");
            }
            assertThat(AdminClient.await(Duration.ofSeconds(5), () -> lines(log).size() == 2)).isTrue();
        }
        return lines(log);
    }

    private SmtpLoadBalancer start(ScriptedRelay relay, String format, Path log) throws Exception {
        String pool = "health-check { type = none }, backends = [ { name = r1, address = \"127.0.0.1:"
                + relay.port() + "\" } ]";
        String config = AdminBalancers.config(pool, "").replace("access-log { enabled = false }",
                "access-log { enabled = true, format = " + format + ", file = \"" + log + "\" }");
        return AdminBalancers.start(AdminBalancers.write(directory.resolve("smtplb.conf"), config));
    }

    /** Runs one session: greeting, EHLO and QUIT, which is 24 bytes from the client and 37 to it. */
    private static void runSession(SmtpLoadBalancer balancer) throws Exception {
        try (Session session = Session.open(AdminBalancers.listener(balancer))) {
            assertThat(session.command("EHLO client.test")).isEqualTo("250 r1 ok");
            assertThat(session.quit()).isEqualTo("221 r1 bye");
        }
    }

    private static List<String> lines(Path log) {
        try {
            return Files.exists(log) ? Files.readAllLines(log) : List.of();
        } catch (IOException e) {
            throw new AssertionError("reading " + log + " failed", e);
        }
    }

    private static InetAddress ipv6() {
        try {
            return InetAddress.getByName("2001:db8::1");
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
