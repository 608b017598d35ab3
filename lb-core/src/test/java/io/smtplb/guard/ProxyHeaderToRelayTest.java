package io.smtplb.guard;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import io.smtplb.SmtpLoadBalancer;
import io.smtplb.proxy.SessionObserver;
import io.smtplb.testing.Balancers.Mode;
import io.smtplb.testing.Streams;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The PROXY header a relay receives: written whole before any other byte and before the greeting is read,
 * naming the original client and the listener address, in the family of those addresses.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ProxyHeaderToRelayTest {

    private static HAProxyMessage decode(byte[] bytes) {
        EmbeddedChannel channel = new EmbeddedChannel(new HAProxyMessageDecoder());
        channel.writeInbound(Unpooled.wrappedBuffer(bytes));
        HAProxyMessage message = channel.readInbound();
        assertThat(message).as("a complete PROXY header in the relay's first read").isNotNull();
        assertThat(channel.inboundMessages()).as("bytes after the header").isEmpty();
        channel.finishAndReleaseAll();
        return message;
    }

    /** Runs one session from {@code clientHost} and returns the header the relay read first. */
    private static HAProxyMessage headerSeenByRelay(HeaderRelay relay, SmtpLoadBalancer balancer, String clientHost,
                                                    InetSocketAddress target) throws Exception {
        try (Socket client = GuardTesting.connectFrom(clientHost, target)) {
            InputStream in = client.getInputStream();
            byte[] first = relay.nextFirstRead();
            assertThat(Streams.readLine(in)).isEqualTo("220 relay.test ESMTP");
            Streams.writeLine(client.getOutputStream(), "QUIT");
            assertThat(Streams.readLine(in)).isEqualTo("221 2.0.0 bye");
            assertThat(relay.nextLine()).isEqualTo("QUIT");

            HAProxyMessage header = decode(first);
            assertThat(header.sourcePort()).isEqualTo(client.getLocalPort());
            return header;
        }
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void v1HeaderNamesIpv4ClientBeforeGreeting(Mode mode) throws Exception {
        try (HeaderRelay relay = new HeaderRelay("127.0.0.1", true);
             SmtpLoadBalancer balancer = GuardTesting.start(mode, "bind = \"127.0.0.1:0\", pool = relays",
                     GuardTesting.pool(relay.address(), "send-proxy = v1,"), "", SessionObserver.NONE)) {
            InetSocketAddress listener = GuardTesting.listener(balancer);

            HAProxyMessage header = headerSeenByRelay(relay, balancer, "127.0.0.2", listener);

            assertThat(header.protocolVersion()).isEqualTo(HAProxyProtocolVersion.V1);
            assertThat(header.proxiedProtocol()).isEqualTo(HAProxyProxiedProtocol.TCP4);
            assertThat(header.sourceAddress()).isEqualTo("127.0.0.2");
            assertThat(header.destinationAddress()).isEqualTo("127.0.0.1");
            assertThat(header.destinationPort()).isEqualTo(listener.getPort());
            header.release();
        }
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void v2HeaderNamesIpv4ClientBeforeGreeting(Mode mode) throws Exception {
        try (HeaderRelay relay = new HeaderRelay("127.0.0.1", true);
             SmtpLoadBalancer balancer = GuardTesting.start(mode, "bind = \"127.0.0.1:0\", pool = relays",
                     GuardTesting.pool(relay.address(), "send-proxy = v2,"), "", SessionObserver.NONE)) {
            InetSocketAddress listener = GuardTesting.listener(balancer);

            HAProxyMessage header = headerSeenByRelay(relay, balancer, "127.0.0.3", listener);

            assertThat(header.protocolVersion()).isEqualTo(HAProxyProtocolVersion.V2);
            assertThat(header.proxiedProtocol()).isEqualTo(HAProxyProxiedProtocol.TCP4);
            assertThat(header.sourceAddress()).isEqualTo("127.0.0.3");
            assertThat(header.destinationAddress()).isEqualTo("127.0.0.1");
            header.release();
        }
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void ipv6ClientAndRelayGetTcp6Header(Mode mode) throws Exception {
        Assumptions.assumeTrue(GuardTesting.hasIpv6Loopback(), "::1 is not configured on lo; IPv6 case skipped");
        try (HeaderRelay relay = new HeaderRelay("::1", true);
             SmtpLoadBalancer balancer = GuardTesting.start(mode, "bind = \"[::1]:0\", pool = relays",
                     GuardTesting.pool(relay.address(), "send-proxy = v2,"), "", SessionObserver.NONE)) {
            InetSocketAddress listener = GuardTesting.listener(balancer);

            HAProxyMessage header = headerSeenByRelay(relay, balancer, "::1", listener);

            assertThat(header.proxiedProtocol()).isEqualTo(HAProxyProxiedProtocol.TCP6);
            assertThat(header.sourceAddress()).isEqualTo("0:0:0:0:0:0:0:1");
            assertThat(header.destinationAddress()).isEqualTo("0:0:0:0:0:0:0:1");
            header.release();
        }
    }

    @Test
    void dualStackIpv4ClientIsTcp4() throws Exception {
        Assumptions.assumeTrue(GuardTesting.hasIpv6Loopback(), "::1 is not configured on lo; IPv6 case skipped");
        try (HeaderRelay relay = new HeaderRelay("127.0.0.1", true);
             SmtpLoadBalancer balancer = GuardTesting.start(Mode.EPOLL_SPLICE,
                     "bind = \"[::]:0\", pool = relays, allow = [\"127.0.0.0/8\", \"::1/128\"]",
                     GuardTesting.pool(relay.address(), "send-proxy = v1,"), "", SessionObserver.NONE)) {
            int port = GuardTesting.listener(balancer).getPort();

            try (Socket client = GuardTesting.connectFrom("127.0.0.2", new InetSocketAddress("127.0.0.1", port))) {
                String header = new String(relay.nextFirstRead(), StandardCharsets.US_ASCII);

                assertThat(header).isEqualTo("PROXY TCP4 127.0.0.2 127.0.0.1 " + client.getLocalPort() + " "
                        + port + "\r\n");
                assertThat(Streams.readLine(client.getInputStream())).isEqualTo("220 relay.test ESMTP");
            }
        }
    }

    @Test
    void headerPrecedesClientBytesWithoutGreetingFailover() throws Exception {
        try (HeaderRelay relay = new HeaderRelay("127.0.0.1", true);
             SmtpLoadBalancer balancer = GuardTesting.start(Mode.EPOLL_SPLICE, "bind = \"127.0.0.1:0\", pool = relays",
                     GuardTesting.pool(relay.address(), "send-proxy = v1, greeting-failover = off,"), "",
                     SessionObserver.NONE);
             Socket client = GuardTesting.connectFrom("127.0.0.4", GuardTesting.listener(balancer))) {
            String header = new String(relay.nextFirstRead(), StandardCharsets.US_ASCII);
            assertThat(header).startsWith("PROXY TCP4 127.0.0.4 127.0.0.1 ").endsWith("\r\n");
            assertThat(Streams.readLine(client.getInputStream())).isEqualTo("220 relay.test ESMTP");

            Streams.writeLine(client.getOutputStream(), "EHLO client.test");

            assertThat(relay.nextLine()).isEqualTo("EHLO client.test");
        }
    }

    @Test
    void backendWithSendProxyOffGetsNoHeader() throws Exception {
        try (HeaderRelay relay = new HeaderRelay("127.0.0.1", false);
             SmtpLoadBalancer balancer = GuardTesting.start(Mode.EPOLL_SPLICE, "bind = \"127.0.0.1:0\", pool = relays",
                     "health-check { type = none }, send-proxy = v2, backends = [ { name = r1, address = \""
                             + GuardTesting.hostPort(relay.address()) + "\", send-proxy = off } ]", "",
                     SessionObserver.NONE);
             Socket client = GuardTesting.connectFrom("127.0.0.2", GuardTesting.listener(balancer))) {
            assertThat(Streams.readLine(client.getInputStream())).isEqualTo("220 relay.test ESMTP");

            Streams.writeLine(client.getOutputStream(), "NOOP");

            assertThat(relay.nextLine()).isEqualTo("NOOP");
        }
    }
}
