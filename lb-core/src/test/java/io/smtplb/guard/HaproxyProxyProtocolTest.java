package io.smtplb.guard;

import io.smtplb.SmtpLoadBalancer;
import io.smtplb.proxy.SessionObserver;
import io.smtplb.testing.Balancers.Mode;
import io.smtplb.testing.Streams;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** HAProxy on either side of smtplb, as a second real implementation of the PROXY protocol. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HaproxyProxyProtocolTest {

    @Test
    void haproxyInFrontPassesClientAddress() throws Exception {
        try (HeaderRelay relay = new HeaderRelay("127.0.0.1", true);
             SmtpLoadBalancer balancer = GuardTesting.start(Mode.EPOLL_SPLICE,
                     "bind = \"127.0.0.1:0\", pool = relays, accept-proxy = on,"
                             + " trusted-proxies = [\"127.0.0.1/32\"]",
                     GuardTesting.pool(relay.address(), "send-proxy = v1,"), "", SessionObserver.NONE);
             HaproxyInstance haproxy = HaproxyInstance.start("", GuardTesting.listener(balancer), "send-proxy-v2");
             Socket client = GuardTesting.connectFrom("127.0.0.2", haproxy.address())) {
            InputStream in = client.getInputStream();

            assertThat(Streams.readLine(in)).isEqualTo("220 relay.test ESMTP");

            assertThat(new String(relay.nextFirstRead(), StandardCharsets.US_ASCII)).isEqualTo(
                    "PROXY TCP4 127.0.0.2 127.0.0.1 " + client.getLocalPort() + " " + haproxy.address().getPort()
                            + "\r\n");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"v1", "v2"})
    void haproxyWithAcceptProxyLogsOriginalClient(String version) throws Exception {
        try (HeaderRelay relay = new HeaderRelay("127.0.0.1", false);
             HaproxyInstance haproxy = HaproxyInstance.start("accept-proxy", relay.address(), "");
             SmtpLoadBalancer balancer = GuardTesting.start(Mode.EPOLL_SPLICE, "bind = \"127.0.0.1:0\", pool = relays",
                     GuardTesting.pool(haproxy.address(), "send-proxy = " + version + ","), "",
                     SessionObserver.NONE)) {
            int clientPort;
            try (Socket client = GuardTesting.connectFrom("127.0.0.2", GuardTesting.listener(balancer))) {
                clientPort = client.getLocalPort();
                InputStream in = client.getInputStream();
                assertThat(Streams.readLine(in)).isEqualTo("220 relay.test ESMTP");
                Streams.writeLine(client.getOutputStream(), "QUIT");
                assertThat(Streams.readLine(in)).isEqualTo("221 2.0.0 bye");
            }

            String expected = "127.0.0.2:" + clientPort + " ";
            GuardTesting.await("haproxy log line for " + expected, 10_000, () -> outputOf(haproxy).contains(expected));
        }
    }

    private static String outputOf(HaproxyInstance haproxy) {
        try {
            return haproxy.output();
        } catch (java.io.IOException e) {
            return "";
        }
    }
}
