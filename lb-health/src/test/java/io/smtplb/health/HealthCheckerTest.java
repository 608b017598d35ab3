package io.smtplb.health;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.channel.EventLoopGroup;
import io.smtplb.health.HealthCheckSettings.CheckType;
import io.smtplb.health.ScriptedSmtpServer.Connection;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.IntSupplier;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Scheduling of checks and passive reports, with real probes against scripted relays and short intervals. */
class HealthCheckerTest {

    private static final Duration DEADLINE = Duration.ofSeconds(10);
    private static final BackendRef MX1 = new BackendRef("relays", "mx1");

    private final AtomicInteger openConnections = new AtomicInteger();
    private final AtomicInteger maxOpenConnections = new AtomicInteger();
    private EventLoopGroup group;
    private RecordingListener listener;
    private HealthChecker checker;
    private ScriptedSmtpServer server;

    @BeforeEach
    void start() throws IOException {
        group = TestTransport.NIO.newGroup(2);
        listener = new RecordingListener();
        checker = new HealthChecker(group, TestTransport.NIO.channelClass(), listener);
        server = ScriptedSmtpServer.start(this::healthyRelay);
    }

    @AfterEach
    void stop() throws IOException {
        checker.close();
        server.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }

    @Test
    void downAfterFallUpAfterRise() throws Exception {
        CheckedBackend backend = checker.register(MX1, server.address(), TestSettings.smtp().build(), true);
        awaitCondition("a passed check", () -> backend.lastResult() != null && backend.lastResult().passed());

        server.script(HealthCheckerTest::busyRelay);
        HealthChange down = listener.awaitChange();

        assertThat(down.newState()).isEqualTo(HealthState.DOWN);
        assertThat(down.oldState()).isEqualTo(HealthState.UP);
        assertThat(down.reason()).isEqualTo(FailureReason.GREETING_4XX);
        assertThat(down.detail()).isEqualTo("greeting was \"421 4.3.2 relay.test busy\"");
        assertThat(down.progress()).isEqualTo("fall 3/3");
        assertThat(down.passive()).isFalse();
        assertThat(backend.isUp()).isFalse();

        server.script(this::healthyRelay);
        HealthChange up = listener.awaitChange();

        assertThat(up.newState()).isEqualTo(HealthState.UP);
        assertThat(up.reason()).isNull();
        assertThat(up.progress()).isEqualTo("rise 2/2");
        assertThat(up.describe()).startsWith("backend relays/mx1 (127.0.0.1:").endsWith(") is UP (rise 2/2)");
        assertThat(backend.state()).isEqualTo(HealthState.UP);
        assertThat(listener.changes).isEmpty();
    }

    @Test
    void initiallyDownBackendComesUpAfterRisePasses() throws Exception {
        CheckedBackend backend = checker.register(MX1, server.address(), TestSettings.smtp().rise(3).build(), false);

        assertThat(backend.isUp()).isFalse();
        HealthChange up = listener.awaitChange();

        assertThat(up.newState()).isEqualTo(HealthState.UP);
        assertThat(up.progress()).isEqualTo("rise 3/3");
        assertThat(listener.results).hasSizeGreaterThanOrEqualTo(3);
        assertThat(listener.results).allMatch(ProbeResult::passed);
    }

    @Test
    void reportsEveryCheckToListener() throws Exception {
        CheckedBackend backend = checker.register(MX1, server.address(), TestSettings.smtp().build(), true);

        awaitCondition("three completed checks", () -> listener.results.size() >= 3);

        assertThat(listener.results).allMatch(ProbeResult::passed);
        assertThat(backend.lastResult()).isNotNull();
        assertThat(backend.lastCheckTime()).isNotNull();
        assertThat(listener.changes).isEmpty();
    }

    @Test
    void checksOfOneBackendNeverOverlap() throws Exception {
        server.script(this::slowCountingRelay);
        TestSettings fast = TestSettings.smtp().intervals(Duration.ofMillis(1), Duration.ofMillis(1),
                Duration.ofMillis(1));
        checker.register(MX1, server.address(), fast.build(), true);

        awaitCondition("ten completed checks", () -> listener.results.size() >= 10);

        assertThat(maxOpenConnections.get()).isEqualTo(1);
        assertThat(listener.results).allMatch(ProbeResult::passed);
    }

    @Test
    void passiveFailuresTakeBackendDownAtOnce() throws Exception {
        TestSettings passiveOnly = TestSettings.smtp().type(CheckType.NONE)
                .intervals(Duration.ofSeconds(30), Duration.ofSeconds(30), Duration.ofSeconds(30));
        CheckedBackend backend = checker.register(MX1, server.address(), passiveOnly.build(), true);

        for (int i = 1; i <= 3; i++) {
            backend.reportPassiveFailure(FailureReason.GREETING_4XX, "greeting was \"421 busy\" (report " + i + ")");
        }
        HealthChange down = listener.awaitChange();

        assertThat(down.newState()).isEqualTo(HealthState.DOWN);
        assertThat(down.passive()).isTrue();
        assertThat(down.reason()).isEqualTo(FailureReason.GREETING_4XX);
        assertThat(down.detail()).isEqualTo("greeting was \"421 busy\" (report 3)");
        assertThat(down.describe()).endsWith("(fall 3/3, seen on client sessions)");
        assertThat(listener.results).isEmpty();
    }

    @Test
    void passiveSuccessClearsPassiveFailureCount() throws Exception {
        TestSettings passiveOnly = TestSettings.smtp().type(CheckType.NONE);
        CheckedBackend backend = checker.register(MX1, server.address(), passiveOnly.build(), true);

        backend.reportPassiveFailure(FailureReason.CONNECT_REFUSED, "report 1");
        backend.reportPassiveFailure(FailureReason.CONNECT_REFUSED, "report 2");
        backend.reportPassiveSuccess();
        for (int i = 3; i <= 6; i++) {
            backend.reportPassiveFailure(FailureReason.CONNECT_REFUSED, "report " + i);
        }
        HealthChange down = listener.awaitChange();

        // Without the success, report 3 would have taken the backend down.
        assertThat(down.detail()).isEqualTo("report 5");
    }

    @Test
    void typeNoneComesBackUpAfterDownInterval() throws Exception {
        TestSettings passiveOnly = TestSettings.smtp().type(CheckType.NONE)
                .intervals(Duration.ofMillis(100), Duration.ofMillis(100), Duration.ofMillis(200));
        CheckedBackend backend = checker.register(MX1, server.address(), passiveOnly.build(), true);
        for (int i = 0; i < 3; i++) {
            backend.reportPassiveFailure(FailureReason.CLOSED_EARLY, "relay closed the connection");
        }
        long downAt = System.nanoTime();
        assertThat(listener.awaitChange().newState()).isEqualTo(HealthState.DOWN);

        HealthChange up = listener.awaitChange();

        assertThat(up.newState()).isEqualTo(HealthState.UP);
        assertThat(up.progress()).isEqualTo("down-interval elapsed");
        assertThat(Duration.ofNanos(System.nanoTime() - downAt)).isGreaterThanOrEqualTo(Duration.ofMillis(200));
        assertThat(server.pendingConnections()).isZero();
    }

    @Test
    void passiveFailureBringsNextCheckForward() throws Exception {
        TestSettings slow = TestSettings.smtp()
                .intervals(Duration.ofSeconds(60), Duration.ofMillis(50), Duration.ofSeconds(60));
        CheckedBackend backend = checker.register(MX1, server.address(), slow.build(), true);

        backend.reportPassiveFailure(FailureReason.GREETING_TIMEOUT, "no greeting within 1000 ms");

        // The first check could otherwise wait up to 60 s.
        awaitCondition("a check soon after the passive failure", () -> backend.lastResult() != null);
        assertThat(backend.lastResult().passed()).isTrue();
        assertThat(backend.isUp()).isTrue();
    }

    @Test
    void pausedBackendRunsNoChecksAndKeepsState() throws Exception {
        CheckedBackend backend = checker.register(MX1, server.address(), TestSettings.smtp().build(), true);
        awaitCondition("a completed check", () -> !listener.results.isEmpty());

        backend.pause();
        int checksWhenPaused = awaitSettled(listener.results::size);
        server.script(HealthCheckerTest::busyRelay);
        backend.reportPassiveFailure(FailureReason.GREETING_4XX, "ignored while paused");
        // Absence of checks can only be shown by letting several intervals pass.
        Thread.sleep(600);

        assertThat(listener.results).hasSize(checksWhenPaused);
        assertThat(backend.isUp()).isTrue();

        backend.resume();
        HealthChange down = listener.awaitChange();

        assertThat(down.newState()).isEqualTo(HealthState.DOWN);
        assertThat(down.passive()).isFalse();
    }

    @Test
    void reconfigureMovesChecksToNewAddress() throws Exception {
        try (ScriptedSmtpServer busy = ScriptedSmtpServer.start(HealthCheckerTest::busyRelay)) {
            CheckedBackend backend = checker.register(MX1, busy.address(), TestSettings.smtp().build(), true);
            assertThat(listener.awaitChange().newState()).isEqualTo(HealthState.DOWN);

            backend.reconfigure(server.address(), TestSettings.smtp().rise(1).build());
            HealthChange up = listener.awaitChange();

            assertThat(up.newState()).isEqualTo(HealthState.UP);
            assertThat(up.address()).isEqualTo(server.address());
            assertThat(up.progress()).isEqualTo("rise 1/1");
        }
    }

    @Test
    void portOverrideRedirectsChecks() throws Exception {
        InetSocketAddress elsewhere = new InetSocketAddress(server.address().getAddress(), 9);
        TestSettings settings = TestSettings.smtp().port(server.address().getPort());
        CheckedBackend backend = checker.register(MX1, elsewhere, settings.build(), true);

        awaitCondition("a completed check", () -> backend.lastResult() != null);

        assertThat(backend.lastResult().passed()).as("detail: %s", backend.lastResult().detail()).isTrue();
    }

    @Test
    void cancelledBackendRunsNoMoreChecks() throws Exception {
        CheckedBackend backend = checker.register(MX1, server.address(), TestSettings.smtp().build(), true);
        awaitCondition("a completed check", () -> !listener.results.isEmpty());

        backend.cancel();
        int checks = awaitSettled(listener.results::size);
        Thread.sleep(500);

        assertThat(listener.results).hasSize(checks);
    }

    @Test
    void closedCheckerRejectsRegistration() {
        checker.close();

        assertThatThrownBy(() -> checker.register(MX1, server.address(), TestSettings.smtp().build(), true))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("health checker is closed; backend relays/mx1 not registered");
    }

    @Test
    void unreadableCaFileFailsRegistration() {
        TestSettings settings = TestSettings.smtp().starttls(HealthCheckSettings.TlsVerify.REQUIRE)
                .tlsCaFile(java.nio.file.Path.of("no-such-dir", "ca.pem"));

        assertThatThrownBy(() -> checker.register(MX1, server.address(), settings.build(), true))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("tls-ca-file: no-such-dir/ca.pem (expected: a readable file;");
    }

    // ---- helpers ----------------------------------------------------------------------------------------------

    private void healthyRelay(Connection connection) throws IOException {
        connection.send("220 relay.test ESMTP\r\n");
        String command;
        while ((command = connection.readCommand()) != null) {
            if (command.startsWith("QUIT")) {
                connection.send("221 2.0.0 Bye\r\n");
                connection.awaitEnd();
                return;
            }
            connection.send("250 relay.test\r\n");
        }
    }

    private void slowCountingRelay(Connection connection) throws Exception {
        int open = openConnections.incrementAndGet();
        maxOpenConnections.accumulateAndGet(open, Math::max);
        try {
            connection.pause(Duration.ofMillis(30));
            healthyRelay(connection);
        } finally {
            openConnections.decrementAndGet();
        }
    }

    private static void busyRelay(Connection connection) throws IOException {
        connection.send("421 4.3.2 relay.test busy\r\n");
        connection.readCommand();
        connection.close();
    }

    /**
     * Waits until a count is equal in two reads 300 ms apart (longer than the test intervals) and returns it.
     * A check in flight may still complete after a pause or cancel, so the count can move once.
     */
    private static int awaitSettled(IntSupplier count) throws InterruptedException {
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        int previous = count.getAsInt();
        while (System.nanoTime() < deadline) {
            Thread.sleep(300);
            int current = count.getAsInt();
            if (current == previous) {
                return current;
            }
            previous = current;
        }
        throw new AssertionError("count still changing after " + DEADLINE.toMillis() + " ms: " + previous);
    }

    private static void awaitCondition(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + DEADLINE.toMillis() + " ms waiting for " + what);
            }
            Thread.sleep(10);
        }
    }

    /** Records what the checker reports. */
    private static final class RecordingListener implements HealthListener {
        final BlockingQueue<HealthChange> changes = new LinkedBlockingQueue<>();
        final List<ProbeResult> results = new CopyOnWriteArrayList<>();

        @Override
        public void onHealthChange(HealthChange change) {
            changes.add(change);
        }

        @Override
        public void onCheckCompleted(BackendRef ref, ProbeResult result) {
            results.add(result);
        }

        HealthChange awaitChange() throws InterruptedException {
            HealthChange change = changes.poll(DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
            if (change == null) {
                throw new AssertionError("no health change within " + DEADLINE.toMillis() + " ms");
            }
            return change;
        }
    }
}
