package io.smtplb.health;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.EventLoopGroup;
import io.smtplb.health.HealthCheckSettings.CheckType;
import io.smtplb.health.HealthCheckSettings.ProxyHeader;
import io.smtplb.health.HealthCheckSettings.TlsVerify;
import io.smtplb.health.ScriptedSmtpServer.Connection;
import io.smtplb.health.ScriptedSmtpServer.Ending;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The SMTP probe against relays scripted in the test: each fault a relay can show, on NIO and on epoll.
 * Every test asserts the verdict and reason, and what the relay saw: the commands, whether the probe talked
 * before its turn, and whether it closed with FIN.
 */
class SmtpProbeTest {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final String EHLO_REPLY = "250-relay.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 8BITMIME\r\n";

    private static final Map<TestTransport, EventLoopGroup> groups = new EnumMap<>(TestTransport.class);

    @BeforeAll
    static void startGroups() {
        for (TestTransport transport : TestTransport.values()) {
            groups.put(transport, transport.newGroup(1));
        }
    }

    @AfterAll
    static void stopGroups() {
        groups.values().forEach(group -> group.shutdownGracefully(0, 1, TimeUnit.SECONDS));
    }

    // ---- passing relays ---------------------------------------------------------------------------------------

    @ParameterizedTest
    @EnumSource(TestTransport.class)
    void passesRelayAndQuitsWithFin(TestTransport transport) throws Exception {
        try (ScriptedSmtpServer server = ScriptedSmtpServer.start(SmtpProbeTest::politeRelay)) {
            ProbeResult result = probe(transport, TestSettings.smtp(), server.address());
            Connection connection = server.nextConnection(WAIT).awaitScript(WAIT);

            assertThat(result.passed()).as("passed; detail: %s", result.detail()).isTrue();
            assertThat(result.reason()).isNull();
            assertThat(result.tlsDaysToExpiry()).isEmpty();
            assertThat(connection.commands()).containsExactly("EHLO probe.test", "QUIT");
            assertThat(connection.spokeEarly()).isFalse();
            assertThat(connection.ending()).isEqualTo(Ending.FIN);
        }
    }

    @ParameterizedTest
    @EnumSource(TestTransport.class)
    void waitsThroughSixSecondPauseInsideGreeting(TestTransport transport) throws Exception {
        ScriptedSmtpServer.Script slowGreeting = connection -> {
            connection.sendStrict("220-relay.test ESMTP checking you out\r\n");
            connection.pause(Duration.ofSeconds(6));
            connection.sendStrict("220 relay.test ready\r\n");
            answerCommands(connection);
        };
        try (ScriptedSmtpServer server = ScriptedSmtpServer.start(slowGreeting)) {
            TestSettings settings = TestSettings.smtp().greetingTimeout(Duration.ofSeconds(10))
                    .timeout(Duration.ofSeconds(20));
            ProbeResult result = probe(transport, settings, server.address());
            Connection connection = server.nextConnection(WAIT).awaitScript(WAIT);

            assertThat(result.passed()).as("passed; detail: %s", result.detail()).isTrue();
            assertThat(result.duration()).isGreaterThanOrEqualTo(Duration.ofSeconds(6));
            assertThat(connection.spokeEarly()).isFalse();
            assertThat(connection.commands()).containsExactly("EHLO probe.test", "QUIT");
            assertThat(connection.ending()).isEqualTo(Ending.FIN);
        }
    }

    @ParameterizedTest
    @EnumSource(TestTransport.class)
    void readsGreetingSentOneBytePerSegment(TestTransport transport) throws Exception {
        ScriptedSmtpServer.Script bytewise = connection -> {
            connection.sendBytewiseStrict("220-relay.test ESMTP\r\n220 relay.test ready\r\n");
            answerCommands(connection);
        };
        try (ScriptedSmtpServer server = ScriptedSmtpServer.start(bytewise)) {
            ProbeResult result = probe(transport, TestSettings.smtp(), server.address());
            Connection connection = server.nextConnection(WAIT).awaitScript(WAIT);

            assertThat(result.passed()).as("passed; detail: %s", result.detail()).isTrue();
            assertThat(connection.spokeEarly()).isFalse();
            assertThat(connection.commands()).containsExactly("EHLO probe.test", "QUIT");
            assertThat(connection.ending()).isEqualTo(Ending.FIN);
        }
    }

    @ParameterizedTest
    @EnumSource(TestTransport.class)
    void passesRelayThatPunishesEarlyTalkers(TestTransport transport) throws Exception {
        // Every reply is multi-line and paced, and the relay replies 554 and hangs up if the probe sends a
        // byte before a reply is complete.
        ScriptedSmtpServer.Script strict = connection -> {
            connection.sendStrict("220-relay.test ESMTP\r\n");
            connection.pause(Duration.ofMillis(300));
            connection.sendStrict("220-no pipelining here\r\n");
            connection.pause(Duration.ofMillis(300));
            connection.sendStrict("220 relay.test ready\r\n");
            String command;
            while ((command = connection.readCommand()) != null) {
                String code = command.startsWith("QUIT") ? "221" : "250";
                connection.send(code + "-first line of the reply\r\n");
                connection.pause(Duration.ofMillis(200));
                connection.sendStrict(code + "-second line\r\n");
                connection.pause(Duration.ofMillis(200));
                connection.sendStrict(code + " last line\r\n");
                if (code.equals("221")) {
                    connection.awaitEnd();
                    return;
                }
            }
        };
        try (ScriptedSmtpServer server = ScriptedSmtpServer.start(strict)) {
            ProbeResult result = probe(transport, TestSettings.smtp().deepCheck("postmaster@relay.test"),
                    server.address());
            Connection connection = server.nextConnection(WAIT).awaitScript(WAIT);

            assertThat(result.passed()).as("passed; detail: %s", result.detail()).isTrue();
            assertThat(connection.spokeEarly()).isFalse();
            assertThat(connection.commands()).containsExactly("EHLO probe.test", "MAIL FROM:<>",
                    "RCPT TO:<postmaster@relay.test>", "RSET", "QUIT");
            assertThat(connection.ending()).isEqualTo(Ending.FIN);
        }
    }

    @Test
    void strictRelayCatchesClientThatTalksEarly() throws Exception {
        // Checks the fixture of the test above: a client that sends EHLO after the first greeting line gets 554.
        ScriptedSmtpServer.Script strict = connection -> {
            connection.sendStrict("220-relay.test ESMTP\r\n");
            connection.pause(Duration.ofMillis(300));
            connection.sendStrict("220 relay.test ready\r\n");
            answerCommands(connection);
        };
        try (ScriptedSmtpServer server = ScriptedSmtpServer.start(strict);
             Socket client = new Socket(server.address().getAddress(), server.address().getPort())) {
            client.getInputStream().read(new byte[64]);
            client.getOutputStream().write("EHLO eager.test\r\n".getBytes(StandardCharsets.US_ASCII));
            Connection connection = server.nextConnection(WAIT).awaitScript(WAIT);

            assertThat(connection.spokeEarly()).isTrue();
            assertThat(readAll(client.getInputStream())).contains("554 5.5.1");
        }
    }

    @ParameterizedTest
    @EnumSource(TestTransport.class)
    void passesWhenRelayResetsAfter221(TestTransport transport) throws Exception {
        ScriptedSmtpServer.Script resetAfterQuit = connection -> {
            connection.send("220 relay.test ESMTP\r\n");
            connection.readCommand();
            connection.send(EHLO_REPLY);
            connection.readCommand();
            connection.send("221 2.0.0 Bye\r\n");
            connection.reset();
        };
        try (ScriptedSmtpServer server = ScriptedSmtpServer.start(resetAfterQuit)) {
            ProbeResult result = probe(transport, TestSettings.smtp(), server.address());
            Connection connection = server.nextConnection(WAIT).awaitScript(WAIT);

            assertThat(result.passed()).as("passed; detail: %s", result.detail()).isTrue();
            assertThat(connection.commands()).containsExactly("EHLO probe.test", "QUIT");
        }
    }

    @ParameterizedTest
    @EnumSource(TestTransport.class)
    void deepCheckSendsMailRcptRsetBeforeQuit(TestTransport transport) throws Exception {
        try (ScriptedSmtpServer server = ScriptedSmtpServer.start(SmtpProbeTest::politeRelay)) {
            ProbeResult result = probe(transport, TestSettings.smtp().deepCheck("postmaster"), server.address());
            Connection connection = server.nextConnection(WAIT).awaitScript(WAIT);

            assertThat(result.passed()).as("passed; detail: %s", result.detail()).isTrue();
            assertThat(connection.commands()).containsExactly("EHLO probe.test", "MAIL FROM:<>",
                    "RCPT TO:<postmaster>", "RSET", "QUIT");
            assertThat(connection.ending()).isEqualTo(Ending.FIN);
        }
    }

    // ---- failing relays ---------------------------------------------------------------------------------------

    @ParameterizedTest
    @EnumSource(TestTransport.class)
    void greeting421FailsWithGreeting4xx(TestTransport transport) throws Exception {
        ScriptedSmtpServer.Script busy = connection -> {
            connection.send("421 4.3.2 relay.test busy, try later\r\n");
            answerCommands(connection);
        };
        try (ScriptedSmtpServer server = ScriptedSmtpServer.start(busy)) {
            ProbeResult result = probe(transport, TestSettings.smtp(), server.address());
            Connection connection = server.nextConnection(WAIT).awaitScript(WAIT);

            assertThat(result.passed()).isFalse();
            assertThat(result.reason()).isEqualTo(FailureReason.GREETING_4XX);
            assertThat(result.detail()).isEqualTo("greeting was \"421 4.3.2 relay.test busy, try later\"");
            assertThat(connection.commands()).containsExactly("QUIT");
            assertThat(connection.ending()).isEqualTo(Ending.FIN);
        }
    }

    @ParameterizedTest
    @EnumSource(TestTransport.class)
    void greeting554FailsWithGreeting5xx(TestTransport transport) throws Exception {
        ScriptedSmtpServer.Script closed = connection -> {
            connection.send("554-relay.test no service\r\n554 5.3.2 not accepting mail\r\n");
            answerCommands(connection);
        };
        try (ScriptedSmtpServer server = ScriptedSmtpServer.start(closed)) {
            ProbeResult result = probe(transport, TestSettings.smtp(), server.address());
            Connection connection = server.nextConnection(WAIT).awaitScript(WAIT);

            assertThat(result.reason()).isEqualTo(FailureReason.GREETING_5XX);
            assertThat(result.detail())
                    .isEqualTo("greeting was \"554 relay.test no service 5.3.2 not accepting mail\"");
            assertThat(connection.commands()).containsExactly("QUIT");
        }
    }

    @ParameterizedTest
    @EnumSource(TestTransport.class)
    void ehlo554FailsWithEhloRejected(TestTransport transport) throws Exception {
        ScriptedSmtpServer.Script rejecting = connection -> {
            connection.send("220 relay.test ESMTP\r\n");
            connection.readCommand();
            connection.send("554 5.7.1 go away\r\n");
            answerCommands(connection);
        };
        try (ScriptedSmtpServer server = ScriptedSmtpServer.start(rejecting)) {
            ProbeResult result = probe(transport, TestSettings.smtp(), server.address());
            Connection connection = server.nextConnection(WAIT).awaitScript(WAIT);

            assertThat(result.reason()).isEqualTo(FailureReason.EHLO_REJECTED);
            assertThat(result.detail()).isEqualTo("EHLO was answered \"554 5.7.1 go away\"");
            assertThat(connection.commands()).containsExactly("EHLO probe.test", "QUIT");
            assertThat(connection.ending()).isEqualTo(Ending.FIN);
        }
    }

    @ParameterizedTest
    @EnumSource(TestTransport.class)
    void silentRelayFailsWithGreetingTimeout(TestTransport transport) throws Exception {
        ScriptedSmtpServer.Script silent = connection -> connection.awaitEnd();
        try (ScriptedSmtpServer server = ScriptedSmtpServer.start(silent)) {
            TestSettings settings = TestSettings.smtp().greetingTimeout(Duration.ofMillis(500));
            ProbeResult result = probe(transport, settings, server.address());
            Connection connection = server.nextConnection(WAIT).awaitScript(WAIT);

            assertThat(result.reason()).isEqualTo(FailureReason.GREETING_TIMEOUT);
            assertThat(result.detail()).isEqualTo("no complete greeting within 500 ms");
            assertThat(result.duration()).isBetween(Duration.ofMillis(450), Duration.ofSeconds(3));
            assertThat(connection.commands()).isEmpty();
            assertThat(connection.ending()).isEqualTo(Ending.FIN);
        }
    }

    @ParameterizedTest
    @EnumSource(TestTransport.class)
    void halfGreetingFailsWithGreetingTimeout(TestTransport transport) throws Exception {
        ScriptedSmtpServer.Script halfGreeting = connection -> {
            connection.send("220-relay.test ESMTP\r\n");
            connection.awaitEnd();
        };
        try (ScriptedSmtpServer server = ScriptedSmtpServer.start(halfGreeting)) {
            TestSettings settings = TestSettings.smtp().greetingTimeout(Duration.ofMillis(500));
            ProbeResult result = probe(transport, settings, server.address());
            Connection connection = server.nextConnection(WAIT).awaitScript(WAIT);

            assertThat(result.reason()).isEqualTo(FailureReason.GREETING_TIMEOUT);
            assertThat(connection.commands()).isEmpty();
            assertThat(connection.ending()).isEqualTo(Ending.FIN);
        }
    }

    @ParameterizedTest
    @EnumSource(TestTransport.class)
    void silenceAfterEhloFailsWithReplyTimeout(TestTransport transport) throws Exception {
        ScriptedSmtpServer.Script mute = connection -> {
            connection.send("220 relay.test ESMTP\r\n");
            connection.readCommand();
            connection.awaitEnd();
        };
        try (ScriptedSmtpServer server = ScriptedSmtpServer.start(mute)) {
            TestSettings settings = TestSettings.smtp().stepTimeout(Duration.ofMillis(400));
            ProbeResult result = probe(transport, settings, server.address());
            Connection connection = server.nextConnection(WAIT).awaitScript(WAIT);

            assertThat(result.reason()).isEqualTo(FailureReason.REPLY_TIMEOUT);
            assertThat(result.detail()).isEqualTo("no reply to EHLO within 400 ms");
            assertThat(connection.commands()).containsExactly("EHLO probe.test");
            assertThat(connection.ending()).isEqualTo(Ending.FIN);
        }
    }

    @ParameterizedTest
    @EnumSource(TestTransport.class)
    void slowRelayFailsWithCheckTimeout(TestTransport transport) throws Exception {
        ScriptedSmtpServer.Script silent = connection -> connection.awaitEnd();
        try (ScriptedSmtpServer server = ScriptedSmtpServer.start(silent)) {
            TestSettings settings = TestSettings.smtp().greetingTimeout(Duration.ofSeconds(5))
                    .timeout(Duration.ofMillis(400));
            ProbeResult result = probe(transport, settings, server.address());
            Connection connection = server.nextConnection(WAIT).awaitScript(WAIT);

            assertThat(result.reason()).isEqualTo(FailureReason.CHECK_TIMEOUT);
            assertThat(result.detail()).isEqualTo("check not finished within 400 ms, waiting for the greeting");
            assertThat(connection.ending()).isEqualTo(Ending.FIN);
        }
    }

    @ParameterizedTest
    @EnumSource(TestTransport.class)
    void resetAfterGreetingFailsWithClosedEarly(TestTransport transport) throws Exception {
        ScriptedSmtpServer.Script resetting = connection -> {
            connection.send("220 relay.test ESMTP\r\n");
            connection.reset();
        };
        try (ScriptedSmtpServer server = ScriptedSmtpServer.start(resetting)) {
            ProbeResult result = probe(transport, TestSettings.smtp(), server.address());
            server.nextConnection(WAIT).awaitScript(WAIT);

            // The reset can beat the probe's EHLO, or, on NIO, even the transport's view of the completed connect.
            assertThat(result.reason()).as("detail: %s", result.detail()).isEqualTo(FailureReason.CLOSED_EARLY);
            assertThat(result.detail()).containsAnyOf("the reply to EHLO", "the greeting",
                    "reset the connection as it was established");
        }
    }

    @ParameterizedTest
    @EnumSource(TestTransport.class)
    void closeBeforeGreetingFailsWithClosedEarly(TestTransport transport) throws Exception {
        try (ScriptedSmtpServer server = ScriptedSmtpServer.start(Connection::close)) {
            ProbeResult result = probe(transport, TestSettings.smtp(), server.address());

            assertThat(result.reason()).isEqualTo(FailureReason.CLOSED_EARLY);
            assertThat(result.detail()).isEqualTo("relay closed the connection while waiting for the greeting");
        }
    }

    @ParameterizedTest
    @EnumSource(TestTransport.class)
    void httpServerFailsWithNotSmtp(TestTransport transport) throws Exception {
        ScriptedSmtpServer.Script http = connection -> {
            connection.send("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
            connection.awaitEnd();
        };
        try (ScriptedSmtpServer server = ScriptedSmtpServer.start(http)) {
            ProbeResult result = probe(transport, TestSettings.smtp(), server.address());
            Connection connection = server.nextConnection(WAIT).awaitScript(WAIT);

            assertThat(result.reason()).isEqualTo(FailureReason.NOT_SMTP);
            assertThat(result.detail()).contains("HTTP/1.1 400 Bad Request");
            assertThat(connection.commands()).isEmpty();
            assertThat(connection.ending()).isEqualTo(Ending.FIN);
        }
    }

    @ParameterizedTest
    @EnumSource(TestTransport.class)
    void greetingWithCode250FailsWithNotSmtp(TestTransport transport) throws Exception {
        ScriptedSmtpServer.Script odd = connection -> {
            connection.send("250 relay.test hello\r\n");
            connection.awaitEnd();
        };
        try (ScriptedSmtpServer server = ScriptedSmtpServer.start(odd)) {
            ProbeResult result = probe(transport, TestSettings.smtp(), server.address());

            assertThat(result.reason()).isEqualTo(FailureReason.NOT_SMTP);
            assertThat(result.detail()).isEqualTo("greeting was \"250 relay.test hello\" (expected: 220)");
        }
    }

    @ParameterizedTest
    @EnumSource(TestTransport.class)
    void greetingText220ElsewhereIsNotAPass(TestTransport transport) throws Exception {
        // "220" inside the text must not count: only the parsed reply code does.
        ScriptedSmtpServer.Script tricky = connection -> {
            connection.send("554 5.3.2 no 220 for you\r\n");
            answerCommands(connection);
        };
        try (ScriptedSmtpServer server = ScriptedSmtpServer.start(tricky)) {
            ProbeResult result = probe(transport, TestSettings.smtp(), server.address());

            assertThat(result.reason()).isEqualTo(FailureReason.GREETING_5XX);
        }
    }

    @ParameterizedTest
    @EnumSource(TestTransport.class)
    void closedPortFailsWithConnectRefused(TestTransport transport) throws Exception {
        InetSocketAddress closed;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closed = new InetSocketAddress(socket.getInetAddress(), socket.getLocalPort());
        }
        ProbeResult result = probe(transport, TestSettings.smtp(), closed);

        assertThat(result.reason()).isEqualTo(FailureReason.CONNECT_REFUSED);
        assertThat(result.detail()).startsWith("connect failed: Connection refused: ");
    }

    @ParameterizedTest
    @EnumSource(TestTransport.class)
    void fullAcceptQueueFailsWithConnectTimeout(TestTransport transport) throws Exception {
        // Linux drops a SYN while the listen queue is full, so the connect hangs until its timeout.
        List<Socket> fillers = new ArrayList<>();
        try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            InetSocketAddress address = new InetSocketAddress(listener.getInetAddress(), listener.getLocalPort());
            for (int i = 0; i < 3; i++) {
                Socket filler = new Socket();
                try {
                    filler.connect(address, 200);
                    fillers.add(filler);
                } catch (IOException e) {
                    filler.close();
                    break;
                }
            }
            TestSettings settings = TestSettings.smtp();
            settings.connectTimeout = Duration.ofMillis(300);
            ProbeResult result = probe(transport, settings, address);

            assertThat(result.reason()).isEqualTo(FailureReason.CONNECT_TIMEOUT);
            assertThat(result.duration()).isBetween(Duration.ofMillis(250), Duration.ofSeconds(3));
        } finally {
            for (Socket filler : fillers) {
                filler.close();
            }
        }
    }

    @ParameterizedTest
    @EnumSource(TestTransport.class)
    void missingStarttlsFailsWithStarttlsUnavailable(TestTransport transport) throws Exception {
        try (ScriptedSmtpServer server = ScriptedSmtpServer.start(SmtpProbeTest::politeRelay)) {
            ProbeResult result = probe(transport, TestSettings.smtp().starttls(TlsVerify.OFF), server.address());
            Connection connection = server.nextConnection(WAIT).awaitScript(WAIT);

            assertThat(result.reason()).isEqualTo(FailureReason.STARTTLS_UNAVAILABLE);
            assertThat(result.detail()).isEqualTo("STARTTLS not advertised in the reply to EHLO");
            assertThat(connection.commands()).containsExactly("EHLO probe.test", "QUIT");
        }
    }

    @ParameterizedTest
    @EnumSource(TestTransport.class)
    void rejectedRecipientFailsDeepCheck(TestTransport transport) throws Exception {
        ScriptedSmtpServer.Script rejecting = connection -> {
            connection.send("220 relay.test ESMTP\r\n");
            String command;
            while ((command = connection.readCommand()) != null) {
                if (command.startsWith("RCPT")) {
                    connection.send("451 4.3.0 <postmaster>: Temporary lookup failure\r\n");
                } else if (command.startsWith("QUIT")) {
                    connection.send("221 2.0.0 Bye\r\n");
                    connection.awaitEnd();
                    return;
                } else {
                    connection.send(command.startsWith("EHLO") ? EHLO_REPLY : "250 2.1.0 Ok\r\n");
                }
            }
        };
        try (ScriptedSmtpServer server = ScriptedSmtpServer.start(rejecting)) {
            ProbeResult result = probe(transport, TestSettings.smtp().deepCheck("postmaster"), server.address());
            Connection connection = server.nextConnection(WAIT).awaitScript(WAIT);

            assertThat(result.reason()).isEqualTo(FailureReason.DEEP_CHECK_REJECTED);
            assertThat(result.detail())
                    .isEqualTo("RCPT TO:<postmaster> was answered \"451 4.3.0 <postmaster>: Temporary lookup failure\"");
            assertThat(connection.commands()).containsExactly("EHLO probe.test", "MAIL FROM:<>",
                    "RCPT TO:<postmaster>", "QUIT");
            assertThat(connection.ending()).isEqualTo(Ending.FIN);
        }
    }

    // ---- PROXY protocol ---------------------------------------------------------------------------------------

    @ParameterizedTest
    @EnumSource(TestTransport.class)
    void proxyV1HeaderComesFirstWithConnectionAddresses(TestTransport transport) throws Exception {
        ScriptedSmtpServer.Script proxyAware = connection -> {
            connection.readOnce();
            politeRelay(connection);
        };
        try (ScriptedSmtpServer server = ScriptedSmtpServer.start(proxyAware)) {
            ProbeResult result = probe(transport, TestSettings.smtp().proxyHeader(ProxyHeader.V1), server.address());
            Connection connection = server.nextConnection(WAIT).awaitScript(WAIT);

            assertThat(result.passed()).as("passed; detail: %s", result.detail()).isTrue();
            String expected = "PROXY TCP4 127.0.0.1 127.0.0.1 " + connection.clientPort() + " "
                    + connection.serverPort() + "\r\n";
            assertThat(new String(connection.firstRead(), StandardCharsets.US_ASCII)).isEqualTo(expected);
            assertThat(connection.commands()).containsExactly("EHLO probe.test", "QUIT");
            assertThat(connection.ending()).isEqualTo(Ending.FIN);
        }
    }

    @ParameterizedTest
    @EnumSource(TestTransport.class)
    void proxyV2HeaderIsLocalCommandInOneRead(TestTransport transport) throws Exception {
        ScriptedSmtpServer.Script proxyAware = connection -> {
            connection.readOnce();
            politeRelay(connection);
        };
        try (ScriptedSmtpServer server = ScriptedSmtpServer.start(proxyAware)) {
            ProbeResult result = probe(transport, TestSettings.smtp().proxyHeader(ProxyHeader.V2), server.address());
            Connection connection = server.nextConnection(WAIT).awaitScript(WAIT);

            assertThat(result.passed()).as("passed; detail: %s", result.detail()).isTrue();
            // Signature, version 2 with command LOCAL (0x20), family UNSPEC (0x00), address length 0.
            byte[] expected = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
                0x20, 0x00, 0x00, 0x00};
            assertThat(connection.firstRead()).isEqualTo(expected);
            assertThat(connection.commands()).containsExactly("EHLO probe.test", "QUIT");
        }
    }

    @ParameterizedTest
    @EnumSource(TestTransport.class)
    void proxyHeaderToStrictRelayFailsWithProxyRejected(TestTransport transport) throws Exception {
        ScriptedSmtpServer.Script strict = connection -> {
            connection.pause(Duration.ofMillis(200));
            connection.sendStrict("220 relay.test ESMTP\r\n");
            answerCommands(connection);
        };
        try (ScriptedSmtpServer server = ScriptedSmtpServer.start(strict)) {
            ProbeResult result = probe(transport, TestSettings.smtp().proxyHeader(ProxyHeader.V1), server.address());
            Connection connection = server.nextConnection(WAIT).awaitScript(WAIT);

            assertThat(connection.spokeEarly()).isTrue();
            assertThat(result.reason()).isEqualTo(FailureReason.PROXY_REJECTED);
            assertThat(result.detail()).startsWith("greeting was \"554 5.5.1");
        }
    }

    @ParameterizedTest
    @EnumSource(TestTransport.class)
    void relayClosingOnProxyHeaderFailsWithProxyRejected(TestTransport transport) throws Exception {
        ScriptedSmtpServer.Script closing = connection -> {
            connection.readOnce();
            connection.close();
        };
        try (ScriptedSmtpServer server = ScriptedSmtpServer.start(closing)) {
            ProbeResult result = probe(transport, TestSettings.smtp().proxyHeader(ProxyHeader.V2), server.address());

            assertThat(result.reason()).isEqualTo(FailureReason.PROXY_REJECTED);
            assertThat(result.detail())
                    .isEqualTo("relay closed the connection while waiting for the greeting, after a PROXY v2 header");
        }
    }

    // ---- type = tcp -------------------------------------------------------------------------------------------

    @ParameterizedTest
    @EnumSource(TestTransport.class)
    void tcpCheckConnectsAndClosesWithFin(TestTransport transport) throws Exception {
        ScriptedSmtpServer.Script greeter = connection -> {
            connection.send("220 relay.test ESMTP\r\n");
            connection.awaitEnd();
        };
        try (ScriptedSmtpServer server = ScriptedSmtpServer.start(greeter)) {
            ProbeResult result = probe(transport, TestSettings.smtp().type(CheckType.TCP), server.address());
            Connection connection = server.nextConnection(WAIT).awaitScript(WAIT);

            assertThat(result.passed()).isTrue();
            assertThat(connection.commands()).isEmpty();
            assertThat(connection.ending()).isEqualTo(Ending.FIN);
        }
    }

    @ParameterizedTest
    @EnumSource(TestTransport.class)
    void tcpCheckSendsProxyHeaderFirst(TestTransport transport) throws Exception {
        ScriptedSmtpServer.Script proxyAware = connection -> {
            connection.readOnce();
            connection.awaitEnd();
        };
        try (ScriptedSmtpServer server = ScriptedSmtpServer.start(proxyAware)) {
            TestSettings settings = TestSettings.smtp().type(CheckType.TCP).proxyHeader(ProxyHeader.V1);
            ProbeResult result = probe(transport, settings, server.address());
            Connection connection = server.nextConnection(WAIT).awaitScript(WAIT);

            assertThat(result.passed()).isTrue();
            assertThat(new String(connection.firstRead(), StandardCharsets.US_ASCII)).startsWith("PROXY TCP4 ");
            assertThat(connection.ending()).isEqualTo(Ending.FIN);
        }
    }

    @ParameterizedTest
    @EnumSource(TestTransport.class)
    void tcpCheckOfClosedPortFailsWithConnectRefused(TestTransport transport) throws Exception {
        InetSocketAddress closed;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closed = new InetSocketAddress(socket.getInetAddress(), socket.getLocalPort());
        }
        ProbeResult result = probe(transport, TestSettings.smtp().type(CheckType.TCP), closed);

        assertThat(result.reason()).isEqualTo(FailureReason.CONNECT_REFUSED);
    }

    // ---- helpers ----------------------------------------------------------------------------------------------

    private static ProbeResult probe(TestTransport transport, TestSettings settings, InetSocketAddress target)
            throws Exception {
        HealthProbe probe = HealthProbe.create(settings.build(), transport.channelClass());
        return probe.check(groups.get(transport).next(), target).get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Greets, replies to every command like a healthy relay, and after QUIT records how the client closed. */
    private static void politeRelay(Connection connection) throws IOException {
        connection.send("220 relay.test ESMTP\r\n");
        answerCommands(connection);
    }

    private static void answerCommands(Connection connection) throws IOException {
        String command;
        while ((command = connection.readCommand()) != null) {
            if (command.startsWith("EHLO")) {
                connection.send(EHLO_REPLY);
            } else if (command.startsWith("QUIT")) {
                connection.send("221 2.0.0 Bye\r\n");
                connection.awaitEnd();
                return;
            } else {
                connection.send("250 2.0.0 Ok\r\n");
            }
        }
    }

    private static String readAll(InputStream in) throws IOException {
        return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
    }
}
