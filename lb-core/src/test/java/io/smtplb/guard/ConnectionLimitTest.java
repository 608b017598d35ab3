package io.smtplb.guard;

import io.smtplb.SmtpLoadBalancer;
import io.smtplb.proxy.CloseReason;
import io.smtplb.testing.Balancers.Mode;
import io.smtplb.testing.Streams;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** Connection limits on real sockets: each limit turns clients away with 421 and lets them back in later. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ConnectionLimitTest {

    private static final String OVER_LIMIT_421 = "421 4.7.0 lb.test Too many connections, try again later";
    private static final String GREETING = "220 relay.test ESMTP";

    @ParameterizedTest
    @EnumSource(Mode.class)
    void listenerLimitRejectsExtraClientAndRecovers(Mode mode) throws Exception {
        GuardTesting.Records records = new GuardTesting.Records();
        try (HeaderRelay relay = new HeaderRelay("127.0.0.1", false);
             SmtpLoadBalancer balancer = GuardTesting.start(mode,
                     "bind = \"127.0.0.1:0\", pool = relays, max-connections = 2",
                     GuardTesting.pool(relay.address(), ""), "", records)) {
            InetSocketAddress listener = GuardTesting.listener(balancer);
            Socket first = greeted("127.0.0.2", listener);
            Socket second = greeted("127.0.0.3", listener);

            try (Socket third = GuardTesting.connectFrom("127.0.0.4", listener)) {
                InputStream in = third.getInputStream();
                assertThat(Streams.readLine(in)).isEqualTo(OVER_LIMIT_421);
                assertThat(in.read()).isEqualTo(-1);
            }
            assertThat(records.await(1).get(0).reason()).isEqualTo(CloseReason.OVER_LIMIT);

            quit(first);
            records.await(2);
            try (Socket fourth = greeted("127.0.0.4", listener)) {
                assertThat(relay.accepted()).isEqualTo(3);
            }
            quit(second);
        }
    }

    @Test
    void globalLimitCountsAllListeners() throws Exception {
        GuardTesting.Records records = new GuardTesting.Records();
        try (HeaderRelay relay = new HeaderRelay("127.0.0.1", false);
             SmtpLoadBalancer balancer = GuardTesting.start(Mode.EPOLL_SPLICE,
                     "bind = \"127.0.0.1:0\", pool = relays",
                     GuardTesting.pool(relay.address(), ""),
                     "listeners.second { bind = \"127.0.0.1:0\", pool = relays }\nlimits.max-connections = 1",
                     records)) {
            InetSocketAddress first = GuardTesting.listener(balancer);
            InetSocketAddress second = balancer.proxy().boundAddresses("second").get(0);
            Socket held = greeted("127.0.0.2", first);

            assertThat(firstLine("127.0.0.3", second)).isEqualTo(OVER_LIMIT_421);

            quit(held);
            records.await(2);
            assertThat(firstLine("127.0.0.3", second)).isEqualTo(GREETING);
        }
    }

    @Test
    void perSourceLimitLeavesOtherSourcesAlone() throws Exception {
        GuardTesting.Records records = new GuardTesting.Records();
        try (HeaderRelay relay = new HeaderRelay("127.0.0.1", false);
             SmtpLoadBalancer balancer = GuardTesting.start(Mode.EPOLL_SPLICE,
                     "bind = \"127.0.0.1:0\", pool = relays, max-connections-per-source = 2",
                     GuardTesting.pool(relay.address(), ""), "", records)) {
            InetSocketAddress listener = GuardTesting.listener(balancer);
            List<Socket> held = new ArrayList<>();
            held.add(greeted("127.0.0.2", listener));
            held.add(greeted("127.0.0.2", listener));

            assertThat(firstLine("127.0.0.2", listener)).isEqualTo(OVER_LIMIT_421);
            held.add(greeted("127.0.0.3", listener));

            assertThat(records.await(1).get(0).client().getAddress().getHostAddress()).isEqualTo("127.0.0.2");
            for (Socket socket : held) {
                quit(socket);
            }
        }
    }

    @Test
    void rateLimitAllowsBurstThenRefills() throws Exception {
        GuardTesting.Records records = new GuardTesting.Records();
        try (HeaderRelay relay = new HeaderRelay("127.0.0.1", false);
             SmtpLoadBalancer balancer = GuardTesting.start(Mode.EPOLL_SPLICE,
                     "bind = \"127.0.0.1:0\", pool = relays, max-connection-rate-per-source = 2,"
                             + " connection-rate-burst = 3",
                     GuardTesting.pool(relay.address(), ""), "", records)) {
            InetSocketAddress listener = GuardTesting.listener(balancer);
            long start = System.nanoTime();
            List<String> firstLines = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                firstLines.add(firstLine("127.0.0.2", listener));
            }
            long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

            // At two tokens per second, five connects within 500 ms get the burst of three and at most one more.
            if (elapsedMillis < 500) {
                assertThat(firstLines.subList(0, 3)).containsOnly(GREETING);
                assertThat(firstLines.subList(3, 5)).contains(OVER_LIMIT_421);
            }
            assertThat(firstLine("127.0.0.3", listener)).isEqualTo(GREETING);
            GuardTesting.await("a token for 127.0.0.2", 3_000,
                    () -> GREETING.equals(firstLineQuietly("127.0.0.2", listener)));
        }
    }

    @Test
    void floodOfSourcesGetsCountedReplies() throws Exception {
        GuardTesting.Records records = new GuardTesting.Records();
        int sources = 200;
        int perSource = 4;
        try (HeaderRelay relay = new HeaderRelay("127.0.0.1", false);
             SmtpLoadBalancer balancer = GuardTesting.start(Mode.EPOLL_SPLICE,
                     "bind = \"127.0.0.1:0\", pool = relays, max-connection-rate-per-source = 0.1,"
                             + " connection-rate-burst = 2",
                     GuardTesting.pool(relay.address(), ""), "limits.source-table-size = 50", records)) {
            InetSocketAddress listener = GuardTesting.listener(balancer);
            Map<String, Integer> replies = new HashMap<>();
            for (int round = 0; round < perSource; round++) {
                for (int s = 0; s < sources; s++) {
                    String line = firstLine("127.0.1." + (s + 1), listener);
                    replies.merge(line.startsWith("220") ? "220" : line, 1, Integer::sum);
                }
            }

            // Each line is an SMTP reply: a greeting or the 421 of a limit.
            assertThat(replies.keySet()).containsOnly("220", OVER_LIMIT_421);
            assertThat(replies.values().stream().mapToInt(Integer::intValue).sum()).isEqualTo(sources * perSource);
            records.await(sources * perSource);
            assertThat(records.count(CloseReason.OVER_LIMIT)).isEqualTo((long) replies.getOrDefault(OVER_LIMIT_421, 0));
            assertThat(relay.accepted()).isEqualTo(replies.get("220"));
            assertThat(balancer.proxy().guard().trackedSources()).isLessThanOrEqualTo(50);
            assertThat(balancer.proxy().guard().openConnections()).isZero();

            assertThat(firstLine("127.0.2.1", listener)).isEqualTo(GREETING);
        }
    }

    private static Socket greeted(String from, InetSocketAddress listener) throws IOException {
        Socket socket = GuardTesting.connectFrom(from, listener);
        assertThat(Streams.readLine(socket.getInputStream())).as("greeting for %s", from).isEqualTo(GREETING);
        return socket;
    }

    private static void quit(Socket socket) throws IOException {
        Streams.writeLine(socket.getOutputStream(), "QUIT");
        assertThat(Streams.readLine(socket.getInputStream())).isEqualTo("221 2.0.0 bye");
        socket.close();
    }

    private static String firstLine(String from, InetSocketAddress listener) throws IOException {
        try (Socket client = GuardTesting.connectFrom(from, listener)) {
            String line = Streams.readLine(client.getInputStream());
            if (line != null && line.startsWith("220")) {
                Streams.writeLine(client.getOutputStream(), "QUIT");
                Streams.readLine(client.getInputStream());
            }
            return line;
        }
    }

    private static String firstLineQuietly(String from, InetSocketAddress listener) {
        try {
            return firstLine(from, listener);
        } catch (IOException e) {
            return e.toString();
        }
    }
}
