package io.smtplb.proxy;

import io.smtplb.SmtpLoadBalancer;
import io.smtplb.testing.Balancers;
import io.smtplb.testing.Balancers.Mode;
import io.smtplb.testing.ScriptedRelay;
import io.smtplb.testing.Streams;
import io.smtplb.testing.Streams.Digest;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.InputStream;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Byte-exact forwarding of large streams with half-close, on splice and on copy. Each case runs several
 * rounds because the failures these tests guard against (bytes lost at end of stream) were intermittent.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ForwardingTest {

    private static final long SIZE = 100L * 1024 * 1024;
    private static final int ROUNDS = 8;
    private static final String GREETING = "220 relay.test ESMTP ready";

    static Stream<Arguments> modesAndRounds() {
        return Stream.of(Mode.values())
                .flatMap(mode -> IntStream.rangeClosed(1, ROUNDS).mapToObj(round -> Arguments.of(mode, round)));
    }

    @ParameterizedTest(name = "{0} round {1}")
    @MethodSource("modesAndRounds")
    void uploadThenFinArrivesWhole(Mode mode, int round) throws Exception {
        try (ScriptedRelay relay = new ScriptedRelay(socket -> {
                Streams.writeLine(socket.getOutputStream(), GREETING);
                Digest received = Streams.readToEnd(socket.getInputStream());
                Streams.writeLine(socket.getOutputStream(), "250 " + received.length() + " " + received.crc());
                socket.shutdownOutput();
                socket.close();
            });
             SmtpLoadBalancer balancer = start(mode, relay);
             Socket client = new Socket()) {
            client.connect(Balancers.listener(balancer));
            client.setSoTimeout(60_000);
            InputStream in = client.getInputStream();
            assertThat(Streams.readLine(in)).isEqualTo(GREETING);

            Digest sent = Streams.write(client.getOutputStream(), SIZE, round);
            client.shutdownOutput();

            assertThat(Streams.readLine(in)).isEqualTo("250 " + sent.length() + " " + sent.crc());
            assertThat(in.read()).isEqualTo(-1);
            assertThat(relay.failures()).isEmpty();
        }
    }

    @ParameterizedTest(name = "{0} round {1}")
    @MethodSource("modesAndRounds")
    void downloadThenCloseArrivesWhole(Mode mode, int round) throws Exception {
        try (ScriptedRelay relay = new ScriptedRelay(socket -> {
                Streams.writeLine(socket.getOutputStream(), GREETING);
                Streams.write(socket.getOutputStream(), SIZE, round);
                socket.close();
            });
             SmtpLoadBalancer balancer = start(mode, relay);
             Socket client = new Socket()) {
            client.connect(Balancers.listener(balancer));
            client.setSoTimeout(60_000);
            InputStream in = client.getInputStream();
            assertThat(Streams.readLine(in)).isEqualTo(GREETING);

            Digest received = Streams.readToEnd(in);

            assertThat(received).isEqualTo(Streams.expected(SIZE, round));
            assertThat(relay.failures()).isEmpty();
        }
    }

    @ParameterizedTest(name = "{0} round {1}")
    @MethodSource("modesAndRounds")
    void bothDirectionsAtOnceWithHalfCloseArriveWhole(Mode mode, int round) throws Exception {
        CompletableFuture<Digest> relayReceived = new CompletableFuture<>();
        try (ScriptedRelay relay = new ScriptedRelay(socket -> {
                Streams.writeLine(socket.getOutputStream(), GREETING);
                Thread writer = new Thread(() -> {
                    try {
                        Streams.write(socket.getOutputStream(), SIZE, 1000 + round);
                        socket.shutdownOutput();
                    } catch (Exception e) {
                        relayReceived.completeExceptionally(e);
                    }
                });
                writer.start();
                relayReceived.complete(Streams.readToEnd(socket.getInputStream()));
                writer.join();
                socket.close();
            });
             SmtpLoadBalancer balancer = start(mode, relay);
             Socket client = new Socket()) {
            client.connect(Balancers.listener(balancer));
            client.setSoTimeout(60_000);
            InputStream in = client.getInputStream();
            assertThat(Streams.readLine(in)).isEqualTo(GREETING);
            CompletableFuture<Digest> sent = CompletableFuture.supplyAsync(() -> {
                try {
                    Digest digest = Streams.write(client.getOutputStream(), SIZE, round);
                    client.shutdownOutput();
                    return digest;
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });

            Digest received = Streams.readToEnd(in);

            assertThat(received).as("relay to client").isEqualTo(Streams.expected(SIZE, 1000 + round));
            assertThat(relayReceived.get(60, TimeUnit.SECONDS)).as("client to relay")
                    .isEqualTo(sent.get(60, TimeUnit.SECONDS));
            assertThat(relay.failures()).isEmpty();
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Mode.class)
    void sessionRecordCountsBytesEachWay(Mode mode) throws Exception {
        long upload = 3L * 1024 * 1024 + 17;
        long download = 5L * 1024 * 1024 + 3;
        CompletableFuture<SessionRecord> record = new CompletableFuture<>();
        SessionObserver observer = new SessionObserver() {
            @Override
            public void onClosed(SessionRecord session) {
                record.complete(session);
            }
        };
        try (ScriptedRelay relay = new ScriptedRelay(socket -> {
                Streams.writeLine(socket.getOutputStream(), GREETING);
                Streams.readToEnd(socket.getInputStream());
                Streams.write(socket.getOutputStream(), download, 7);
                socket.close();
            });
             SmtpLoadBalancer balancer = Balancers.start(mode,
                     Balancers.backends(List.of(relay.port())) + ", health-check { type = none }", "", observer);
             Socket client = new Socket()) {
            client.connect(Balancers.listener(balancer));
            client.setSoTimeout(60_000);
            InputStream in = client.getInputStream();
            assertThat(Streams.readLine(in)).isEqualTo(GREETING);
            Streams.write(client.getOutputStream(), upload, 8);
            client.shutdownOutput();
            assertThat(Streams.readToEnd(in).length()).isEqualTo(download);

            SessionRecord session = record.get(10, TimeUnit.SECONDS);

            assertThat(session.bytesFromClient()).isEqualTo(upload);
            assertThat(session.bytesToClient()).isEqualTo(download + GREETING.length() + 2);
            assertThat(session.reason()).isEqualTo(CloseReason.CLIENT_CLOSED);
            assertThat(session.backend()).isEqualTo("r1");
            assertThat(session.attempts()).isEqualTo(1);
            assertThat(session.greetingCode()).isEqualTo(220);
        }
    }

    private static SmtpLoadBalancer start(Mode mode, ScriptedRelay relay) throws Exception {
        return Balancers.start(mode, Balancers.backends(List.of(relay.port())) + ", health-check { type = none }",
                "");
    }
}
