package io.smtplb;

import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;
import io.smtplb.SmtpLoadBalancer.ReloadResult;
import io.smtplb.balance.Backend;
import io.smtplb.balance.BackendPool;
import io.smtplb.testing.AdminBalancers;
import io.smtplb.testing.AdminBalancers.Session;
import io.smtplb.testing.AdminClient;
import io.smtplb.testing.MetricsText;
import io.smtplb.testing.ScriptedRelay;
import jakarta.mail.Message;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeMessage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Reloads under load: real mail (Angus Mail to GreenMail) keeps flowing through a series of reloads that add,
 * remove and reweight backends and bring an invalid file, and not one message fails.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ConfigReloadTest {

    private static final int SENDERS = 4;
    private static final int MAX_MESSAGES_PER_SENDER = 400;
    private static final Duration MAX_LOAD_TIME = Duration.ofSeconds(60);
    private static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    Path directory;

    private final List<GreenMail> relays = new ArrayList<>();

    @AfterEach
    void stopRelays() {
        relays.forEach(GreenMail::stop);
    }

    @Test
    void reloadsUnderLoadFailNoSession() throws Exception {
        GreenMail g1 = relay();
        GreenMail g2 = relay();
        GreenMail g3 = relay();
        Path file = directory.resolve("smtplb.conf");
        AdminBalancers.write(file, config(backend("g1", g1, 1) + backend("g2", g2, 1)));
        try (SmtpLoadBalancer balancer = AdminBalancers.start(file);
             MailLoad load = new MailLoad(AdminBalancers.listener(balancer))) {
            AdminClient admin = AdminBalancers.admin(balancer);
            BackendPool pool = balancer.pools().get("relays");
            load.awaitMore(20);

            AdminBalancers.write(file, config(backend("g1", g1, 1) + backend("g2", g2, 1) + backend("g3", g3, 1)));
            assertThat(reloadOverHttp(admin)).contains("\"applied\": true", "backend relays/g3 (127.0.0.1:"
                    + port(g3) + ") added");
            assertThat(names(pool)).containsExactly("g1", "g2", "g3");
            assertThat(AdminClient.await(WAIT, () -> received(g3) >= 5)).isTrue();

            AdminBalancers.write(file, config(backend("g2", g2, 1) + backend("g3", g3, 1)));
            ReloadResult removed = balancer.reload();
            assertThat(removed.changes()).anyMatch(change -> change.startsWith("backend relays/g1 (127.0.0.1:"
                    + port(g1) + ") removed; its "));
            assertThat(names(pool)).containsExactly("g2", "g3");
            load.awaitMore(30);
            int g1AfterRemoval = received(g1);

            AdminBalancers.write(file, config(backend("g2", g2, 1) + backend("g3", g3, 3)));
            assertThat(ctlReload(balancer)).contains("\"applied\": true", "backend relays/g3: weight 1 -> 3");
            assertThat(pool.backend("g3").weight()).isEqualTo(3);
            int g2BeforeWeights = received(g2);
            int g3BeforeWeights = received(g3);
            load.awaitMore(60);
            int g2Share = received(g2) - g2BeforeWeights;
            int g3Share = received(g3) - g3BeforeWeights;

            AdminBalancers.write(file, config(backend("g2", g2, 1) + backend("g3", g3, 0)).replace("smtplb {",
                    "smtplb {\n  listners {}"));
            HttpResponse<String> invalid = admin.post("/api/reload");
            assertThat(invalid.statusCode()).isEqualTo(422);
            assertThat(invalid.body()).contains("\"applied\": false", "smtplb.conf:2: smtplb.listners",
                    ".backends[1].weight: 0 (expected: 1..256)");
            assertThat(pool.backend("g3").weight()).isEqualTo(3);
            assertThat(names(pool)).containsExactly("g2", "g3");
            load.awaitMore(20);

            LoadResult result = load.stop();
            System.out.printf("reload under load: %d messages sent by %d senders, %d failed; received g1 %d, g2 %d, "
                    + "g3 %d; after reweighting g2 %d, g3 %d%n", result.sent(), SENDERS, result.failures().size(),
                    received(g1), received(g2), received(g3), g2Share, g3Share);
            assertThat(result.failures()).as("failed sessions").isEmpty();
            assertThat(result.sent()).isGreaterThanOrEqualTo(100);
            assertThat(AdminClient.await(WAIT, () -> received(g1) + received(g2) + received(g3) == result.sent()))
                    .as("messages received by the relays, sent: %d", result.sent()).isTrue();
            assertThat(received(g1)).as("messages to g1 after its removal settled").isEqualTo(g1AfterRemoval);
            // Smooth weighted round-robin with weights 1 and 3 gives g3 three quarters of the new sessions.
            assertThat(g3Share).as("g3 share after reweighting (g2: %d)", g2Share).isGreaterThan(2 * g2Share);

            MetricsText metrics = admin.metrics();
            assertThat(metrics.value("smtplb_config_reloads_total", "result", "success")).isEqualTo(3.0);
            assertThat(metrics.value("smtplb_config_reloads_total", "result", "failure")).isEqualTo(1.0);
            assertThat(metrics.value("smtplb_listener_connections_total", "listener", "test"))
                    .as("sessions counted across reloads").isEqualTo((double) result.sent());
            assertThat(metrics.value("smtplb_backend_connections_total", "pool", "relays", "backend", "g2"))
                    .isEqualTo((double) received(g2));
            assertThat(metrics.value("smtplb_backend_up", "pool", "relays", "backend", "g1")).isNull();
        }
    }

    @Test
    void reloadAddsAndRemovesListeners() throws Exception {
        try (ScriptedRelay r1 = AdminBalancers.quitRelay("r1")) {
            String backends = "{ name = r1, address = \"127.0.0.1:" + r1.port() + "\" }";
            Path file = directory.resolve("smtplb.conf");
            AdminBalancers.write(file, withListeners(backends, ""));
            try (SmtpLoadBalancer balancer = AdminBalancers.start(file)) {
                AdminClient admin = AdminBalancers.admin(balancer);
                Session kept = Session.open(AdminBalancers.listener(balancer));

                AdminBalancers.write(file, withListeners(backends, "submission { bind = \"127.0.0.1:0\", pool = relays }"));
                ReloadResult added = balancer.reload();
                InetSocketAddress submission = balancer.proxy().boundAddresses("submission").get(0);
                try (Session viaNew = Session.open(submission)) {
                    assertThat(viaNew.greeting()).isEqualTo("220 r1 ESMTP");
                }
                assertThat(admin.get("/health").statusCode()).isEqualTo(200);

                AdminBalancers.write(file, withListeners(backends, "submission { bind = \"127.0.0.1:0\", pool = relays }")
                        .replace("test { bind = \"127.0.0.1:0\", pool = relays }", ""));
                ReloadResult removed = balancer.reload();

                assertThat(added.changes()).containsExactly("listener submission added on 127.0.0.1:"
                        + submission.getPort());
                assertThat(removed.changes()).containsExactly("listener test removed; its open sessions continue");
                assertThat(balancer.proxy().listenerNames()).containsExactly("submission");
                assertThat(kept.command("EHLO client.test")).isEqualTo("250 r1 ok");
                assertThat(kept.quit()).isEqualTo("221 r1 bye");
                MetricsText metrics = admin.metrics();
                assertThat(metrics.value("smtplb_listener_bound", "listener", "submission")).isEqualTo(1.0);
                assertThat(metrics.value("smtplb_listener_bound", "listener", "test")).isNull();
                assertThat(metrics.value("smtplb_listener_connections_total", "listener", "test")).isEqualTo(1.0);
            }
        }
    }

    @Test
    void unbindableListenerFailsHealth() throws Exception {
        try (ScriptedRelay r1 = AdminBalancers.quitRelay("r1");
             ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            String backends = "{ name = r1, address = \"127.0.0.1:" + r1.port() + "\" }";
            Path file = directory.resolve("smtplb.conf");
            AdminBalancers.write(file, withListeners(backends, ""));
            try (SmtpLoadBalancer balancer = AdminBalancers.start(file)) {
                AdminBalancers.write(file, withListeners(backends, "busy { bind = \"127.0.0.1:" + taken.getLocalPort()
                        + "\", pool = relays }"));

                ReloadResult result = balancer.reload();
                HttpResponse<String> health = AdminBalancers.admin(balancer).get("/health");

                assertThat(result.applied()).isTrue();
                assertThat(result.problems()).singleElement().asString()
                        .startsWith("listener busy: cannot bind 127.0.0.1:" + taken.getLocalPort());
                assertThat(health.statusCode()).isEqualTo(503);
                assertThat(health.body()).isEqualTo("listener busy is not bound\n");
            }
        }
    }

    @Test
    void restartOnlySettingsStayUnchanged() throws Exception {
        try (ScriptedRelay r1 = AdminBalancers.quitRelay("r1")) {
            String pool = "backends = [ { name = r1, address = \"127.0.0.1:" + r1.port() + "\" } ]";
            Path file = directory.resolve("smtplb.conf");
            AdminBalancers.write(file, AdminBalancers.config(pool, "forwarding = splice"));
            try (SmtpLoadBalancer balancer = AdminBalancers.start(file)) {
                var forwardingBefore = balancer.forwarding();
                AdminBalancers.write(file, AdminBalancers.config(pool, "forwarding = copy")
                        .replace("event-loop-threads = 2", "event-loop-threads = 3")
                        .replace("token = \"" + AdminBalancers.TOKEN + "\"", "token = \"another-token-42\""));

                ReloadResult result = balancer.reload();

                assertThat(result.applied()).isTrue();
                assertThat(result.needsRestart()).containsExactly("event-loop-threads: 2 -> 3",
                        "forwarding: splice -> copy");
                assertThat(result.changes()).containsExactly("admin.token changed");
                assertThat(balancer.forwarding()).isEqualTo(forwardingBefore);
                AdminClient oldToken = AdminBalancers.admin(balancer);
                AdminClient newToken = new AdminClient(balancer.adminAddress(), "another-token-42");
                assertThat(oldToken.post("/api/pools/relays/backends/r1/drain").statusCode()).isEqualTo(401);
                assertThat(newToken.post("/api/pools/relays/backends/r1/drain").statusCode()).isEqualTo(200);
            }
        }
    }

    private String config(String backends) {
        String pool = "balance = weighted-round-robin, health-check { interval = 500ms }, backends = [ " + backends
                + "]";
        return AdminBalancers.config(pool, "");
    }

    private static String withListeners(String backends, String extraListener) {
        return AdminBalancers.config("backends = [ " + backends + " ]", "")
                .replace("listeners { test { bind = \"127.0.0.1:0\", pool = relays } }",
                        "listeners {\n    test { bind = \"127.0.0.1:0\", pool = relays }\n    " + extraListener
                                + "\n  }");
    }

    private static String backend(String name, GreenMail relay, int weight) {
        // The comma matters: HOCON merges adjacent objects that nothing separates.
        return "{ name = " + name + ", address = \"127.0.0.1:" + port(relay) + "\", weight = " + weight + " }, ";
    }

    private GreenMail relay() {
        GreenMail relay = new GreenMail(new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_SMTP).dynamicPort());
        relay.start();
        relays.add(relay);
        return relay;
    }

    private static int port(GreenMail relay) {
        return relay.getSmtp().getPort();
    }

    private static int received(GreenMail relay) {
        return relay.getReceivedMessages().length;
    }

    private static List<String> names(BackendPool pool) {
        return pool.members().all().stream().map(Backend::name).toList();
    }

    private static String reloadOverHttp(AdminClient admin) throws Exception {
        HttpResponse<String> response = admin.post("/api/reload");
        assertThat(response.statusCode()).as("POST /api/reload: %s", response.body()).isEqualTo(200);
        return response.body();
    }

    /** Runs {@code smtplb ctl reload} through the command line entry point. */
    private static String ctlReload(SmtpLoadBalancer balancer) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Main.run(new String[] {"ctl", "--admin", "127.0.0.1:" + balancer.adminAddress().getPort(),
                "--token", AdminBalancers.TOKEN, "reload"}, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(status).as("smtplb ctl reload: %s", err).isEqualTo(0);
        return out.toString(StandardCharsets.UTF_8);
    }

    /** What the load sent: messages accepted by smtplb and the relay, and every failure. */
    private record LoadResult(int sent, List<Throwable> failures) {
    }

    /**
     * {@value #SENDERS} threads that each send messages one after another, each over a new SMTP session,
     * until stopped, {@value #MAX_MESSAGES_PER_SENDER} messages each, or {@link #MAX_LOAD_TIME}.
     */
    private static final class MailLoad implements AutoCloseable {
        private final InetSocketAddress address;
        private final AtomicBoolean stopping = new AtomicBoolean();
        private final AtomicInteger sent = new AtomicInteger();
        private final Queue<Throwable> failures = new ConcurrentLinkedQueue<>();
        private final List<Thread> senders = new ArrayList<>();
        private final long deadlineNanos = System.nanoTime() + MAX_LOAD_TIME.toNanos();

        MailLoad(InetSocketAddress address) {
            this.address = address;
            for (int i = 0; i < SENDERS; i++) {
                int sender = i;
                Thread thread = new Thread(() -> send(sender), "mail-load-" + i);
                thread.setDaemon(true);
                senders.add(thread);
                thread.start();
            }
        }

        private void send(int sender) {
            for (int i = 0; i < MAX_MESSAGES_PER_SENDER && !stopping.get() && System.nanoTime() < deadlineNanos; i++) {
                try {
                    message(sender, i);
                    sent.incrementAndGet();
                } catch (Exception e) {
                    failures.add(e);
                }
            }
        }

        private void message(int sender, int number) throws Exception {
            Properties properties = new Properties();
            properties.put("mail.smtp.host", "127.0.0.1");
            properties.put("mail.smtp.port", String.valueOf(address.getPort()));
            properties.put("mail.smtp.connectiontimeout", "10000");
            properties.put("mail.smtp.timeout", "10000");
            MimeMessage message = new MimeMessage(jakarta.mail.Session.getInstance(properties));
            message.setFrom(new InternetAddress("sender" + sender + "@devices.test"));
            message.setRecipient(Message.RecipientType.TO, new InternetAddress("ops@example.test"));
            message.setSubject("reload " + sender + "-" + number);
            message.setText("message " + number + " from sender " + sender + "\r\n");
            jakarta.mail.Transport.send(message);
        }

        /** Waits until {@code count} more messages than now were sent. */
        void awaitMore(int count) throws InterruptedException {
            int target = sent.get() + count;
            assertThat(AdminClient.await(WAIT, () -> sent.get() >= target))
                    .as("%d more messages sent (failures so far: %s)", count, failures).isTrue();
        }

        LoadResult stop() throws InterruptedException {
            stopping.set(true);
            for (Thread sender : senders) {
                sender.join(WAIT.toMillis());
            }
            return new LoadResult(sent.get(), List.copyOf(failures));
        }

        @Override
        public void close() throws InterruptedException {
            stop();
        }
    }
}
