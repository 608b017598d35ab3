package io.smtplb.proxy;

import io.smtplb.SmtpLoadBalancer;
import io.smtplb.testing.Balancers;
import io.smtplb.testing.Balancers.Mode;
import io.smtplb.testing.ScriptedRelay;
import io.smtplb.testing.Streams;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** How sessions start, fail over and end, run on every transport and forwarding mode. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SessionBehaviourTest {

    private static final String REJECT_421 = "421 lb.test Service not available, try again later";

    /** Returns a relay that greets, replies to EHLO and QUIT, and closes right after its 221 reply. */
    private static ScriptedRelay quitRelay(String name) throws IOException {
        return quitRelay(name, null);
    }

    /** Returns the same relay, which greets only once {@code greetAfter} (when not {@code null}) is counted down. */
    private static ScriptedRelay quitRelay(String name, CountDownLatch greetAfter) throws IOException {
        return new ScriptedRelay(socket -> {
            if (greetAfter != null) {
                greetAfter.await(10, TimeUnit.SECONDS);
                // The client's FIN is on its way to the balancer; give it time to get there first.
                Thread.sleep(100);
            }
            InputStream in = socket.getInputStream();
            OutputStream out = socket.getOutputStream();
            Streams.writeLine(out, "220 " + name + " ESMTP");
            for (String line; (line = Streams.readLine(in)) != null; ) {
                if (line.startsWith("QUIT")) {
                    Streams.writeLine(out, "221 2.0.0 " + name + " closing");
                    socket.close();
                    return;
                }
                Streams.writeLine(out, "250 " + name + " ok");
            }
            socket.close();
        });
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void relaysClosingReplyReachesClient(Mode mode) throws Exception {
        try (ScriptedRelay relay = quitRelay("r1");
             SmtpLoadBalancer balancer = start(mode, List.of(relay.port()), "");
             Socket client = connect(balancer)) {
            InputStream in = client.getInputStream();
            assertThat(Streams.readLine(in)).isEqualTo("220 r1 ESMTP");

            Streams.writeLine(client.getOutputStream(), "QUIT");

            assertThat(Streams.readLine(in)).isEqualTo("221 2.0.0 r1 closing");
            assertThat(in.read()).isEqualTo(-1);
        }
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void pipelinedCommandsBeforeClientFinAllArrive(Mode mode) throws Exception {
        try (ScriptedRelay relay = quitRelay("r1");
             SmtpLoadBalancer balancer = start(mode, List.of(relay.port()), "");
             Socket client = connect(balancer)) {
            InputStream in = client.getInputStream();
            assertThat(Streams.readLine(in)).isEqualTo("220 r1 ESMTP");

            client.getOutputStream().write("EHLO client.test\r\nNOOP\r\nQUIT\r\n".getBytes());
            client.shutdownOutput();

            assertThat(Streams.readLine(in)).isEqualTo("250 r1 ok");
            assertThat(Streams.readLine(in)).isEqualTo("250 r1 ok");
            assertThat(Streams.readLine(in)).isEqualTo("221 2.0.0 r1 closing");
            assertThat(in.read()).isEqualTo(-1);
        }
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void refusedRelayIsSkippedInvisibly(Mode mode) throws Exception {
        int deadPort = unusedPort();
        try (ScriptedRelay relay = quitRelay("r2");
             SmtpLoadBalancer balancer = start(mode, List.of(deadPort, relay.port()), "")) {
            for (int i = 0; i < 20; i++) {
                try (Socket client = connect(balancer)) {
                    assertThat(Streams.readLine(client.getInputStream())).as("session %d", i).isEqualTo("220 r2 ESMTP");
                }
            }
            assertThat(relay.accepted()).isEqualTo(20);
        }
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void clientGets421WhenNoRelayAccepts(Mode mode) throws Exception {
        try (SmtpLoadBalancer balancer = start(mode, List.of(unusedPort(), unusedPort()), "");
             Socket client = connect(balancer)) {
            InputStream in = client.getInputStream();

            assertThat(Streams.readLine(in)).isEqualTo(REJECT_421);
            // A clean close reads as end of stream; a reset would throw here.
            assertThat(in.read()).isEqualTo(-1);
        }
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void clientGets421WhenEveryRelayIsAtMaxConnections(Mode mode) throws Exception {
        try (ScriptedRelay relay = quitRelay("r1");
             SmtpLoadBalancer balancer = Balancers.start(mode, "backends = [ { name = r1, address = \"127.0.0.1:"
                     + relay.port() + "\", max-connections = 1 } ], health-check { type = none }", "");
             Socket first = connect(balancer)) {
            assertThat(Streams.readLine(first.getInputStream())).isEqualTo("220 r1 ESMTP");

            try (Socket second = connect(balancer)) {
                InputStream in = second.getInputStream();
                assertThat(Streams.readLine(in)).isEqualTo(REJECT_421);
                assertThat(in.read()).isEqualTo(-1);
            }

            Streams.writeLine(first.getOutputStream(), "QUIT");
            assertThat(Streams.readLine(first.getInputStream())).isEqualTo("221 2.0.0 r1 closing");
        }
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void idleSessionIsClosedOnBothSides(Mode mode) throws Exception {
        try (ScriptedRelay relay = quitRelay("r1");
             SmtpLoadBalancer balancer = start(mode, List.of(relay.port()), "timeouts { idle = 1s }");
             Socket client = connect(balancer)) {
            InputStream in = client.getInputStream();
            assertThat(Streams.readLine(in)).isEqualTo("220 r1 ESMTP");
            Streams.writeLine(client.getOutputStream(), "NOOP");
            assertThat(Streams.readLine(in)).isEqualTo("250 r1 ok");
            long start = System.nanoTime();

            assertThat(in.read()).isEqualTo(-1);

            long idleMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertThat(idleMillis).isBetween(900L, 10_000L);
            assertThat(relay.failures()).isEmpty();
        }
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void relayGreetingWith421FailsOverToNextRelay(Mode mode) throws Exception {
        try (ScriptedRelay busy = new ScriptedRelay(socket -> {
                Streams.writeLine(socket.getOutputStream(), "421 4.3.2 busy.test too busy");
                Streams.readLine(socket.getInputStream());
                socket.close();
            });
             ScriptedRelay good = quitRelay("good");
             SmtpLoadBalancer balancer = start(mode, List.of(busy.port(), good.port()), "")) {
            for (int i = 0; i < 10; i++) {
                try (Socket client = connect(balancer)) {
                    assertThat(Streams.readLine(client.getInputStream())).isEqualTo("220 good ESMTP");
                }
            }
            assertThat(good.accepted()).isEqualTo(10);
        }
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void silentRelayFailsOverAfterGreetingTimeout(Mode mode) throws Exception {
        try (ScriptedRelay silent = new ScriptedRelay(socket -> Streams.readToEnd(socket.getInputStream()));
             ScriptedRelay good = quitRelay("good");
             SmtpLoadBalancer balancer = Balancers.start(mode, Balancers.backends(List.of(silent.port(), good.port()))
                     + ", greeting-timeout = 300ms, health-check { type = none }", "")) {
            for (int i = 0; i < 4; i++) {
                try (Socket client = connect(balancer)) {
                    assertThat(Streams.readLine(client.getInputStream())).isEqualTo("220 good ESMTP");
                }
            }
            assertThat(good.accepted()).isEqualTo(4);
        }
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void relayClosingBeforeGreetingFailsOver(Mode mode) throws Exception {
        try (ScriptedRelay closing = new ScriptedRelay(java.net.Socket::close);
             ScriptedRelay good = quitRelay("good");
             SmtpLoadBalancer balancer = start(mode, List.of(closing.port(), good.port()), "")) {
            for (int i = 0; i < 4; i++) {
                try (Socket client = connect(balancer)) {
                    assertThat(Streams.readLine(client.getInputStream())).isEqualTo("220 good ESMTP");
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void earlyClientBytesReachTheGreetingRelayInOrder(Mode mode) throws Exception {
        java.util.concurrent.CompletableFuture<String> busyHeard = new java.util.concurrent.CompletableFuture<>();
        java.util.concurrent.CompletableFuture<String> goodHeard = new java.util.concurrent.CompletableFuture<>();
        try (ScriptedRelay busy = new ScriptedRelay(socket -> {
                Streams.writeLine(socket.getOutputStream(), "421 4.3.2 busy");
                busyHeard.complete(Streams.readLine(socket.getInputStream()));
                socket.close();
            });
             ScriptedRelay good = new ScriptedRelay(socket -> {
                Streams.writeLine(socket.getOutputStream(), "220 good ESMTP");
                goodHeard.complete(Streams.readLine(socket.getInputStream()) + "|"
                        + Streams.readLine(socket.getInputStream()));
                Streams.writeLine(socket.getOutputStream(), "221 bye");
                socket.close();
            });
             SmtpLoadBalancer balancer = start(mode, List.of(busy.port(), good.port()), "");
             Socket client = connect(balancer)) {
            // A client that does not wait for the greeting; SMTP forbids it, but some devices do it.
            client.getOutputStream().write("EHLO early.test\r\nQUIT\r\n".getBytes());

            assertThat(Streams.readLine(client.getInputStream())).isEqualTo("220 good ESMTP");
            assertThat(Streams.readLine(client.getInputStream())).isEqualTo("221 bye");

            assertThat(goodHeard.get(10, TimeUnit.SECONDS)).isEqualTo("EHLO early.test|QUIT");
            if (busy.accepted() > 0) {
                // The busy relay hears only smtplb's own QUIT, never the client's bytes.
                assertThat(busyHeard.get(10, TimeUnit.SECONDS)).isEqualTo("QUIT");
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void greetingPassesAtOnceWhenFailoverIsOff(Mode mode) throws Exception {
        try (ScriptedRelay busy = new ScriptedRelay(socket -> {
                Streams.writeLine(socket.getOutputStream(), "421 4.3.2 busy");
                Streams.readToEnd(socket.getInputStream());
                socket.close();
            });
             SmtpLoadBalancer balancer = Balancers.start(mode, Balancers.backends(List.of(busy.port()))
                     + ", greeting-failover = off, health-check { type = none }", "");
             Socket client = connect(balancer)) {
            assertThat(Streams.readLine(client.getInputStream())).isEqualTo("421 4.3.2 busy");
        }
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void multiLineGreetingPassesUnchanged(Mode mode) throws Exception {
        try (ScriptedRelay relay = new ScriptedRelay(socket -> {
                OutputStream out = socket.getOutputStream();
                out.write("220-mx.test ESMTP\r\n".getBytes());
                out.flush();
                Thread.sleep(200);
                out.write("220-second line\r\n220 ready\r\n".getBytes());
                out.flush();
                Streams.readToEnd(socket.getInputStream());
                socket.close();
            });
             SmtpLoadBalancer balancer = start(mode, List.of(relay.port()), "");
             Socket client = connect(balancer)) {
            InputStream in = client.getInputStream();
            assertThat(Streams.readLine(in)).isEqualTo("220-mx.test ESMTP");
            assertThat(Streams.readLine(in)).isEqualTo("220-second line");
            assertThat(Streams.readLine(in)).isEqualTo("220 ready");
        }
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void commandsAndFinBeforeGreetingAnswered(Mode mode) throws Exception {
        CountDownLatch clientDone = new CountDownLatch(1);
        try (ScriptedRelay relay = quitRelay("r1", clientDone);
             SmtpLoadBalancer balancer = start(mode, List.of(relay.port()), "");
             Socket client = connect(balancer)) {
            client.getOutputStream().write("EHLO client.test\r\nQUIT\r\n".getBytes());
            client.shutdownOutput();
            clientDone.countDown();

            InputStream in = client.getInputStream();
            assertThat(Streams.readLine(in)).isEqualTo("220 r1 ESMTP");
            assertThat(Streams.readLine(in)).isEqualTo("250 r1 ok");
            assertThat(Streams.readLine(in)).isEqualTo("221 2.0.0 r1 closing");
            assertThat(in.read()).isEqualTo(-1);
        }
    }

    /** Only on epoll, which reports a FIN while reads are off; NIO reads the FIN only after the greeting. */
    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"EPOLL_SPLICE", "EPOLL_COPY"})
    void emptyClientFinBeforeGreetingEndsSession(Mode mode) throws Exception {
        try (ScriptedRelay relay = new ScriptedRelay(socket -> {
                Thread.sleep(300);
                Streams.writeLine(socket.getOutputStream(), "220 r1 ESMTP");
                Streams.readToEnd(socket.getInputStream());
                socket.close();
            });
             SmtpLoadBalancer balancer = start(mode, List.of(relay.port()), "");
             Socket probe = connect(balancer)) {
            // A TCP check, such as keepalived's TCP_CHECK on the VIP: connect, then close at once.
            probe.shutdownOutput();
            assertThat(probe.getInputStream().read()).isEqualTo(-1);
        }
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void bytesBehindGreetingReachClient(Mode mode) throws Exception {
        try (ScriptedRelay relay = new ScriptedRelay(socket -> {
                // One write, so the greeting and the next reply reach the balancer in the same read.
                socket.getOutputStream().write("220 r1 ESMTP\r\n421 4.3.2 r1 shutting down\r\n".getBytes());
                socket.getOutputStream().flush();
                socket.close();
            });
             SmtpLoadBalancer balancer = start(mode, List.of(relay.port()), "");
             Socket client = connect(balancer)) {
            InputStream in = client.getInputStream();
            assertThat(Streams.readLine(in)).isEqualTo("220 r1 ESMTP");
            assertThat(Streams.readLine(in)).isEqualTo("421 4.3.2 r1 shutting down");
            assertThat(in.read()).isEqualTo(-1);
        }
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void clientBytesAfterRelayFinArrive(Mode mode) throws Exception {
        java.util.concurrent.BlockingQueue<String> received = new java.util.concurrent.LinkedBlockingQueue<>();
        try (ScriptedRelay relay = new ScriptedRelay(socket -> {
                InputStream in = socket.getInputStream();
                Streams.writeLine(socket.getOutputStream(), "220 r1 ESMTP");
                Streams.readLine(in);
                Streams.writeLine(socket.getOutputStream(), "221 2.0.0 r1 closing");
                // Half-close: the relay sends FIN but goes on reading until the client's FIN.
                socket.shutdownOutput();
                StringBuilder rest = new StringBuilder();
                for (String line; (line = Streams.readLine(in)) != null; ) {
                    rest.append(line).append('|');
                }
                received.add(rest.toString());
                socket.close();
            });
             SmtpLoadBalancer balancer = start(mode, List.of(relay.port()), "");
             Socket client = connect(balancer)) {
            InputStream in = client.getInputStream();
            assertThat(Streams.readLine(in)).isEqualTo("220 r1 ESMTP");
            Streams.writeLine(client.getOutputStream(), "QUIT");
            assertThat(Streams.readLine(in)).isEqualTo("221 2.0.0 r1 closing");
            assertThat(in.read()).isEqualTo(-1);

            Streams.writeLine(client.getOutputStream(), "first late line");
            Streams.writeLine(client.getOutputStream(), "second late line");
            client.shutdownOutput();

            assertThat(received.poll(10, TimeUnit.SECONDS)).isEqualTo("first late line|second late line|");
        }
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void shutdownLetsOpenSessionsFinishUntilTheDeadline(Mode mode) throws Exception {
        try (ScriptedRelay relay = quitRelay("r1")) {
            SmtpLoadBalancer balancer = start(mode, List.of(relay.port()), "");
            java.net.InetSocketAddress listener = Balancers.listener(balancer);
            try (Socket open = connect(balancer)) {
                InputStream in = open.getInputStream();
                assertThat(Streams.readLine(in)).isEqualTo("220 r1 ESMTP");
                Thread stopper = new Thread(() -> balancer.shutdown(java.time.Duration.ofSeconds(2)));
                stopper.start();
                awaitRefused(listener);

                Streams.writeLine(open.getOutputStream(), "NOOP");
                assertThat(Streams.readLine(in)).isEqualTo("250 r1 ok");

                assertThat(in.read()).isEqualTo(-1);
                stopper.join(10_000);
                assertThat(stopper.isAlive()).isFalse();
            }
        }
    }

    private static void awaitRefused(java.net.InetSocketAddress listener) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() < deadline) {
            try (Socket probe = new Socket()) {
                probe.connect(listener, 500);
            } catch (IOException refused) {
                return;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("listener " + listener + " still accepts 5 s after shutdown began");
    }

    private static SmtpLoadBalancer start(Mode mode, List<Integer> ports, String extra) throws Exception {
        return Balancers.start(mode, Balancers.backends(ports) + ", health-check { type = none }", extra);
    }

    private static Socket connect(SmtpLoadBalancer balancer) throws IOException {
        Socket socket = new Socket();
        socket.connect(Balancers.listener(balancer), 5_000);
        socket.setSoTimeout(20_000);
        return socket;
    }

    /** Returns a loopback port that nothing listens on (bound once, then released). */
    static int unusedPort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }
}
