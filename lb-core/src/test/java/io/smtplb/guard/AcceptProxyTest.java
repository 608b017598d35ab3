package io.smtplb.guard;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageEncoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import io.smtplb.SmtpLoadBalancer;
import io.smtplb.proxy.CloseReason;
import io.smtplb.proxy.SessionRecord;
import io.smtplb.testing.Balancers.Mode;
import io.smtplb.testing.Streams;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** smtplb behind another balancer: the PROXY header it accepts, from whom, and what it does with it. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AcceptProxyTest {

    private static final String TRUSTING_LOCALHOST = "bind = \"127.0.0.1:0\", pool = relays, accept-proxy = on,"
            + " trusted-proxies = [\"127.0.0.1/32\", \"::1/128\"], accept-proxy-timeout = 500ms";

    private static byte[] v2(HAProxyCommand command, HAProxyProxiedProtocol protocol, String source,
                             String destination, int sourcePort, int destinationPort) {
        EmbeddedChannel channel = new EmbeddedChannel(HAProxyMessageEncoder.INSTANCE);
        channel.writeOutbound(new HAProxyMessage(HAProxyProtocolVersion.V2, command, protocol, source, destination,
                sourcePort, destinationPort));
        ByteBuf encoded = channel.readOutbound();
        byte[] bytes = ByteBufUtil.getBytes(encoded);
        encoded.release();
        channel.finishAndReleaseAll();
        return bytes;
    }

    private static void send(Socket socket, byte[] bytes) throws Exception {
        OutputStream out = socket.getOutputStream();
        out.write(bytes);
        out.flush();
    }

    private static void send(Socket socket, String text) throws Exception {
        send(socket, text.getBytes(StandardCharsets.US_ASCII));
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void v1HeaderBecomesClientAddressAndIsPassedOn(Mode mode) throws Exception {
        GuardTesting.Records records = new GuardTesting.Records();
        try (HeaderRelay relay = new HeaderRelay("127.0.0.1", true);
             SmtpLoadBalancer balancer = GuardTesting.start(mode, TRUSTING_LOCALHOST,
                     GuardTesting.pool(relay.address(), "send-proxy = v1,"), "", records);
             Socket proxy = GuardTesting.connectFrom("127.0.0.1", GuardTesting.listener(balancer))) {
            send(proxy, "PROXY TCP4 192.0.2.7 198.51.100.25 40001 25\r\n");

            assertThat(new String(relay.nextFirstRead(), StandardCharsets.US_ASCII))
                    .isEqualTo("PROXY TCP4 192.0.2.7 198.51.100.25 40001 25\r\n");
            InputStream in = proxy.getInputStream();
            assertThat(Streams.readLine(in)).isEqualTo("220 relay.test ESMTP");
            Streams.writeLine(proxy.getOutputStream(), "QUIT");
            assertThat(Streams.readLine(in)).isEqualTo("221 2.0.0 bye");
            assertThat(in.read()).isEqualTo(-1);
            proxy.close();

            SessionRecord record = records.await(1).get(0);
            assertThat(record.client().getAddress().getHostAddress()).isEqualTo("192.0.2.7");
            assertThat(record.client().getPort()).isEqualTo(40001);
            // The header is not part of the client's SMTP bytes; QUIT with CRLF is 6 bytes.
            assertThat(record.bytesFromClient()).isEqualTo(6);
        }
    }

    @Test
    void denyListAppliesToAddressFromHeader() throws Exception {
        GuardTesting.Records records = new GuardTesting.Records();
        try (HeaderRelay relay = new HeaderRelay("127.0.0.1", false);
             SmtpLoadBalancer balancer = GuardTesting.start(Mode.EPOLL_SPLICE,
                     TRUSTING_LOCALHOST + ", deny = [\"192.0.2.0/24\"]",
                     GuardTesting.pool(relay.address(), ""), "", records);
             Socket proxy = GuardTesting.connectFrom("127.0.0.1", GuardTesting.listener(balancer))) {
            send(proxy, "PROXY TCP4 192.0.2.7 198.51.100.25 40001 25\r\n");

            assertThat(Streams.readLine(proxy.getInputStream())).isEqualTo("554 5.7.1 lb.test Access denied");

            SessionRecord record = records.await(1).get(0);
            assertThat(record.reason()).isEqualTo(CloseReason.DENIED);
            assertThat(record.client().getAddress().getHostAddress()).isEqualTo("192.0.2.7");
            assertThat(relay.accepted()).isZero();
        }
    }

    @Test
    void untrustedPeerIsClosedWithoutReading() throws Exception {
        GuardTesting.Records records = new GuardTesting.Records();
        try (HeaderRelay relay = new HeaderRelay("127.0.0.1", false);
             SmtpLoadBalancer balancer = GuardTesting.start(Mode.EPOLL_SPLICE, TRUSTING_LOCALHOST,
                     GuardTesting.pool(relay.address(), ""), "", records);
             Socket stranger = GuardTesting.connectFrom("127.0.0.2", GuardTesting.listener(balancer))) {

            assertThat(stranger.getInputStream().read()).isEqualTo(-1);

            SessionRecord record = records.await(1).get(0);
            assertThat(record.reason()).isEqualTo(CloseReason.DENIED);
            assertThat(record.client().getAddress().getHostAddress()).isEqualTo("127.0.0.2");
            assertThat(relay.accepted()).isZero();
        }
    }

    @Test
    void missingHeaderTimesOut() throws Exception {
        GuardTesting.Records records = new GuardTesting.Records();
        try (HeaderRelay relay = new HeaderRelay("127.0.0.1", false);
             SmtpLoadBalancer balancer = GuardTesting.start(Mode.EPOLL_SPLICE, TRUSTING_LOCALHOST,
                     GuardTesting.pool(relay.address(), ""), "", records);
             Socket proxy = GuardTesting.connectFrom("127.0.0.1", GuardTesting.listener(balancer))) {
            long start = System.nanoTime();

            assertThat(proxy.getInputStream().read()).isEqualTo(-1);

            long waitedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertThat(waitedMillis).isBetween(400L, 5_000L);
            assertThat(records.await(1).get(0).reason()).isEqualTo(CloseReason.ERROR);
            assertThat(relay.accepted()).isZero();
        }
    }

    @Test
    void smtpInsteadOfHeaderIsRejected() throws Exception {
        GuardTesting.Records records = new GuardTesting.Records();
        try (HeaderRelay relay = new HeaderRelay("127.0.0.1", false);
             SmtpLoadBalancer balancer = GuardTesting.start(Mode.EPOLL_SPLICE, TRUSTING_LOCALHOST,
                     GuardTesting.pool(relay.address(), ""), "", records);
             Socket proxy = GuardTesting.connectFrom("127.0.0.1", GuardTesting.listener(balancer))) {
            send(proxy, "EHLO client.test\r\n");

            // Closed with the EHLO unread, which the kernel may report as a reset instead of an end of stream.
            try {
                assertThat(proxy.getInputStream().read()).isEqualTo(-1);
            } catch (java.net.SocketException reset) {
                assertThat(reset.getMessage()).contains("reset");
            }

            assertThat(records.await(1).get(0).reason()).isEqualTo(CloseReason.ERROR);
            assertThat(relay.accepted()).isZero();
        }
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void bytesAfterV2HeaderReachRelayAfterGreeting(Mode mode) throws Exception {
        try (HeaderRelay relay = new HeaderRelay("127.0.0.1", false);
             SmtpLoadBalancer balancer = GuardTesting.start(mode, TRUSTING_LOCALHOST,
                     GuardTesting.pool(relay.address(), ""), "", new GuardTesting.Records());
             Socket proxy = GuardTesting.connectFrom("127.0.0.1", GuardTesting.listener(balancer))) {
            byte[] header = v2(HAProxyCommand.PROXY, HAProxyProxiedProtocol.TCP6, "2001:db8::7", "2001:db8::25",
                    40002, 25);
            byte[] early = "NOOP\r\n".getBytes(StandardCharsets.US_ASCII);
            byte[] both = new byte[header.length + early.length];
            System.arraycopy(header, 0, both, 0, header.length);
            System.arraycopy(early, 0, both, header.length, early.length);

            send(proxy, both);

            InputStream in = proxy.getInputStream();
            assertThat(Streams.readLine(in)).isEqualTo("220 relay.test ESMTP");
            assertThat(Streams.readLine(in)).isEqualTo("250 ok");
            assertThat(relay.nextLine()).isEqualTo("NOOP");
        }
    }

    @Test
    void headerSplitOverTwoSegmentsIsAssembled() throws Exception {
        GuardTesting.Records records = new GuardTesting.Records();
        try (HeaderRelay relay = new HeaderRelay("127.0.0.1", false);
             SmtpLoadBalancer balancer = GuardTesting.start(Mode.EPOLL_SPLICE, TRUSTING_LOCALHOST,
                     GuardTesting.pool(relay.address(), ""), "", records);
             Socket proxy = GuardTesting.connectFrom("127.0.0.1", GuardTesting.listener(balancer))) {
            proxy.setTcpNoDelay(true);
            send(proxy, "PROXY TCP4 192.0.2.8 ");
            Thread.sleep(100);
            send(proxy, "198.51.100.25 40003 25\r\n");

            assertThat(Streams.readLine(proxy.getInputStream())).isEqualTo("220 relay.test ESMTP");
            proxy.close();
            assertThat(records.await(1).get(0).client().getAddress().getHostAddress()).isEqualTo("192.0.2.8");
        }
    }

    @Test
    void localHeaderKeepsConnectionAddresses() throws Exception {
        GuardTesting.Records records = new GuardTesting.Records();
        try (HeaderRelay relay = new HeaderRelay("127.0.0.1", false);
             SmtpLoadBalancer balancer = GuardTesting.start(Mode.EPOLL_SPLICE, TRUSTING_LOCALHOST,
                     GuardTesting.pool(relay.address(), ""), "", records);
             Socket proxy = GuardTesting.connectFrom("127.0.0.1", GuardTesting.listener(balancer))) {
            send(proxy, v2(HAProxyCommand.LOCAL, HAProxyProxiedProtocol.UNKNOWN, null, null, 0, 0));

            assertThat(Streams.readLine(proxy.getInputStream())).isEqualTo("220 relay.test ESMTP");
            proxy.close();
            SessionRecord record = records.await(1).get(0);
            assertThat(record.client().getAddress().getHostAddress()).isEqualTo("127.0.0.1");
            assertThat(record.client().getPort()).isEqualTo(proxy.getLocalPort());
        }
    }

    @Test
    void ipv6ProxyPeerIsTrustedByIpv6Network() throws Exception {
        Assumptions.assumeTrue(GuardTesting.hasIpv6Loopback(), "::1 is not configured on lo; IPv6 case skipped");
        GuardTesting.Records records = new GuardTesting.Records();
        try (HeaderRelay relay = new HeaderRelay("127.0.0.1", true);
             SmtpLoadBalancer balancer = GuardTesting.start(Mode.EPOLL_SPLICE,
                     TRUSTING_LOCALHOST.replace("127.0.0.1:0", "[::1]:0"),
                     GuardTesting.pool(relay.address(), "send-proxy = v1,"), "", records);
             Socket proxy = GuardTesting.connectFrom("::1", GuardTesting.listener(balancer))) {
            send(proxy, "PROXY TCP4 192.0.2.9 198.51.100.25 40004 587\r\n");

            assertThat(new String(relay.nextFirstRead(), StandardCharsets.US_ASCII))
                    .isEqualTo("PROXY TCP4 192.0.2.9 198.51.100.25 40004 587\r\n");
            assertThat(Streams.readLine(proxy.getInputStream())).isEqualTo("220 relay.test ESMTP");
        }
    }
}
