package io.smtplb.admin;

import io.smtplb.SmtpLoadBalancer;
import io.smtplb.testing.AdminBalancers;
import io.smtplb.testing.AdminBalancers.Session;
import io.smtplb.testing.AdminClient;
import io.smtplb.testing.ScriptedRelay;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * The status page as a browser renders it: headless Chromium (Debian's {@code chromium} package) loads
 * {@code GET /} and the test reads the rendered DOM. It also saves a screenshot to
 * {@code target/status-page.png} for a person to look at.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class StatusPageBrowserTest {

    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final long BROWSER_TIMEOUT_SECONDS = 60;

    @TempDir
    Path directory;

    @Test
    void pageShowsBackendStates() throws Exception {
        requireChromium();
        String pool = "balance = weighted-round-robin, health-check { interval = 100ms, transition-interval = 100ms, "
                + "down-interval = 100ms, fall = 1, jitter = 0s }, backends = [ ";
        ScriptedRelay r1 = AdminBalancers.quitRelay("r1");
        ScriptedRelay r2 = AdminBalancers.quitRelay("r2");
        ScriptedRelay r3 = AdminBalancers.quitRelay("r3");
        String config = AdminBalancers.config(pool + backend("mx1", r1) + ", " + backend("mx2", r2) + ", "
                + backend("mx3", r3) + " ]", "");
        try (r1; r2; r3;
             SmtpLoadBalancer balancer = AdminBalancers.start(AdminBalancers.write(directory.resolve("smtplb.conf"),
                     config))) {
            AdminClient admin = AdminBalancers.admin(balancer);
            runSessions(balancer, 6);
            Session open = Session.open(AdminBalancers.listener(balancer));
            admin.post("/api/pools/relays/backends/mx2/drain");
            r3.close();
            assertThat(AdminClient.await(Duration.ofSeconds(10),
                    () -> !balancer.pools().get("relays").backend("mx3").isUp())).isTrue();
            String url = "http://127.0.0.1:" + balancer.adminAddress().getPort() + "/";

            String dom = chromium("--dump-dom", url);
            chromium("--screenshot=" + screenshotFile(), "--window-size=1280,800", url);

            assertThat(dom).contains("<title>smtplb status</title>", "Pool relays", "2 of 3 backends up",
                    "1 taking new sessions");
            // Smooth round-robin over equal weights: six sessions, two each, then the open one on mx1.
            assertThat(cells(dom, "mx1")).containsExactly("mx1", address(r1), "UP", "READY", "1", "3", "1",
                    cells(dom, "mx1").get(7), cells(dom, "mx1").get(8));
            assertThat(cells(dom, "mx2").subList(2, 7)).containsExactly("UP", "DRAIN", "0", "2", "1");
            assertThat(cells(dom, "mx3").subList(2, 7)).containsExactly("DOWN", "READY", "0", "2", "1");
            assertThat(cells(dom, "mx3").get(7)).startsWith("failed").contains("(connect-refused)");
            assertThat(cells(dom, "mx1").get(7)).startsWith("passed");
            assertThat(open.greeting()).isEqualTo("220 r1 ESMTP");
            assertThat(dom).contains("<span id=\"open-sessions\">1</span> open sessions");
            assertThat(Files.size(screenshotFile())).isGreaterThan(1000);
            open.quit();
        }
    }

    private static String backend(String name, ScriptedRelay relay) {
        return "{ name = " + name + ", address = \"127.0.0.1:" + relay.port() + "\" }";
    }

    /** Returns the texts of a backend's table cells, in column order. */
    private static List<String> cells(String dom, String backend) {
        Matcher row = Pattern.compile("<tr data-backend=\"" + backend + "\">(.*?)</tr>", Pattern.DOTALL)
                .matcher(dom);
        assertThat(row.find()).as("row of backend %s in the DOM", backend).isTrue();
        List<String> cells = new ArrayList<>();
        Matcher cell = Pattern.compile("<td[^>]*>(.*?)</td>", Pattern.DOTALL).matcher(row.group(1));
        while (cell.find()) {
            cells.add(cell.group(1).replaceAll("<[^>]+>", " ").replaceAll("\\s+", " ").trim());
        }
        return cells;
    }

    private static String address(ScriptedRelay relay) {
        return "127.0.0.1:" + relay.port();
    }

    private static void runSessions(SmtpLoadBalancer balancer, int count) throws Exception {
        for (int i = 0; i < count; i++) {
            try (Session session = Session.open(AdminBalancers.listener(balancer))) {
                session.quit();
            }
        }
    }

    private Path screenshotFile() {
        return Path.of("target", "status-page.png").toAbsolutePath();
    }

    private static void requireChromium() {
        if (!Files.isExecutable(CHROMIUM)) {
            fail("headless Chromium not found at " + CHROMIUM + " (expected: Debian's chromium package; install it "
                    + "with apt-get install chromium, as .ci/run does)");
        }
    }

    /** Runs headless Chromium with the given arguments and returns its standard output. */
    private String chromium(String... arguments) throws Exception {
        List<String> command = new ArrayList<>(List.of(CHROMIUM.toString(), "--headless", "--no-sandbox",
                "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + Files.createTempDirectory(directory, "chromium")));
        command.addAll(List.of(arguments));
        File errors = directory.resolve("chromium-stderr.txt").toFile();
        Process process = new ProcessBuilder(command).redirectError(errors).start();
        byte[] output = process.getInputStream().readAllBytes();
        if (!process.waitFor(BROWSER_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            fail("chromium did not finish within " + BROWSER_TIMEOUT_SECONDS + " s: " + command);
        }
        assertThat(process.exitValue()).as("chromium exit status; stderr: %s",
                Files.readString(errors.toPath())).isEqualTo(0);
        return new String(output, StandardCharsets.UTF_8);
    }
}
