package io.smtplb.e2e;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.smtplb.SmtpLoadBalancer;
import io.smtplb.proxy.CloseReason;
import io.smtplb.proxy.SessionObserver;
import io.smtplb.proxy.SessionRecord;
import io.smtplb.testing.Balancers;
import io.smtplb.testing.Balancers.Mode;
import io.smtplb.testing.SmtpSinkProcess;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.slf4j.LoggerFactory;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Postfix's {@code smtp-source} sends through the balancer to two {@code smtp-sink} relays. It is a real client
 * that closes its socket as soon as it has read the 221, often with a reset, which races the balancer's own FIN
 * to it. Many short sessions on one event loop also reuse socket descriptor numbers quickly.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SmtpSourceThroughBalancerTest {

    private static final String SMTP_SOURCE = "/usr/sbin/smtp-source";
    private static final int MESSAGES = 300;

    @ParameterizedTest
    @EnumSource(Mode.class)
    void allMessagesArriveWithoutWarnings(Mode mode, @TempDir Path dumps) throws Exception {
        if (!new File(SMTP_SOURCE).canExecute()) {
            throw new AssertionError(SMTP_SOURCE + " not found: install Debian's postfix package (CI does)");
        }
        ListAppender<ILoggingEvent> log = new ListAppender<>();
        log.start();
        Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        root.addAppender(log);
        ConcurrentLinkedQueue<SessionRecord> sessions = new ConcurrentLinkedQueue<>();
        SessionObserver observer = new SessionObserver() {
            @Override
            public void onClosed(SessionRecord session) {
                sessions.add(session);
            }
        };
        List<SmtpSinkProcess> sinks = new ArrayList<>();
        try {
            sinks.add(SmtpSinkProcess.start(freePort(), dumps.resolve("sink1")));
            sinks.add(SmtpSinkProcess.start(freePort(), dumps.resolve("sink2")));
            String pool = Balancers.backends(sinks.stream().map(SmtpSinkProcess::port).toList())
                    + ", health-check { type = none }";
            try (SmtpLoadBalancer balancer = Balancers.start(mode, pool, "", observer)) {
                InetSocketAddress listener = Balancers.listener(balancer);
                String output = runSmtpSource(listener);

                awaitCount(sessions, MESSAGES);
                assertThat(sinks.get(0).messages() + sinks.get(1).messages())
                        .as("messages at the relays; smtp-source said: " + output).isEqualTo(MESSAGES);
                // A reset from smtp-source after its 221 counts as an error. A timeout or a failover must not occur.
                assertThat(sessions).as("sessions").allSatisfy(session -> {
                    assertThat(session.reason()).isIn(CloseReason.RELAY_CLOSED, CloseReason.CLIENT_CLOSED,
                            CloseReason.ERROR);
                    assertThat(session.attempts()).as("relays tried by session " + session.id()).isEqualTo(1);
                    assertThat(session.greetingCode()).isEqualTo(220);
                });
                assertThat(log.list.stream().filter(event -> event.getLevel().isGreaterOrEqual(Level.WARN))
                        .map(ILoggingEvent::getFormattedMessage).toList()).as("WARN and ERROR log lines").isEmpty();
            }
        } finally {
            root.detachAppender(log);
            for (SmtpSinkProcess sink : sinks) {
                sink.close();
            }
        }
    }

    /** Runs smtp-source with 4 parallel sessions, one message each; fails unless it exits with 0 within 60 s. */
    private static String runSmtpSource(InetSocketAddress listener) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(SMTP_SOURCE, "-s", "4", "-m", String.valueOf(MESSAGES),
                "-f", "sender@example.test", "-t", "rcpt@example.test",
                listener.getAddress().getHostAddress() + ":" + listener.getPort())
                .redirectErrorStream(true)
                .start();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("smtp-source did not finish " + MESSAGES + " messages within 60 s");
        }
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.exitValue()).as("smtp-source exit status; it said: " + output).isZero();
        assertThat(output).as("smtp-source output").doesNotContain("fatal");
        return output;
    }

    private static void awaitCount(ConcurrentLinkedQueue<?> queue, int expected) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (queue.size() < expected && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(queue).as("sessions closed").hasSize(expected);
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }
}
