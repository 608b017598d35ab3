package io.smtplb.guard;

import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import io.smtplb.config.BackendSettings;
import io.smtplb.config.PoolSettings;
import io.smtplb.health.HealthCheckSettings.ProxyHeader;
import io.smtplb.proxy.Addresses;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RelayProxyHeaderTest {

    private static InetSocketAddress address(String host, int port) throws Exception {
        return new InetSocketAddress(InetAddress.getByName(host), port);
    }

    /** Encodes the header through a channel, as the session does, and returns the bytes written. */
    private static ByteBuf written(HAProxyMessage header) {
        EmbeddedChannel channel = new EmbeddedChannel();
        assertThat(RelayProxyHeader.write(channel, header).isSuccess()).isTrue();
        ByteBuf bytes = channel.readOutbound();
        assertThat((Object) channel.readOutbound()).as("a second buffer").isNull();
        assertThat(channel.pipeline().names()).doesNotContain("proxy-header-encoder");
        channel.finishAndReleaseAll();
        return bytes;
    }

    private static HAProxyMessage decode(ByteBuf bytes) {
        EmbeddedChannel channel = new EmbeddedChannel(new HAProxyMessageDecoder());
        channel.writeInbound(bytes);
        HAProxyMessage message = channel.readInbound();
        channel.finishAndReleaseAll();
        return message;
    }

    @Test
    void v1Ipv4HeaderIsOneTextLine() throws Exception {
        HAProxyMessage header = RelayProxyHeader.create(ProxyHeader.V1, address("192.0.2.7", 40000),
                address("198.51.100.25", 25));

        ByteBuf bytes = written(header);

        assertThat(bytes.toString(StandardCharsets.US_ASCII))
                .isEqualTo("PROXY TCP4 192.0.2.7 198.51.100.25 40000 25\r\n");
        bytes.release();
    }

    @Test
    void v1Ipv6HeaderUsesTcp6() throws Exception {
        HAProxyMessage header = RelayProxyHeader.create(ProxyHeader.V1, address("2001:db8::7", 40000),
                address("2001:db8::25", 587));

        ByteBuf bytes = written(header);

        assertThat(bytes.toString(StandardCharsets.US_ASCII))
                .isEqualTo("PROXY TCP6 2001:db8::7 2001:db8::25 40000 587\r\n");
        bytes.release();
    }

    @Test
    void v2HeaderCarriesBinaryAddresses() throws Exception {
        HAProxyMessage header = RelayProxyHeader.create(ProxyHeader.V2, address("192.0.2.7", 40000),
                address("198.51.100.25", 25));

        ByteBuf bytes = written(header);

        // 12-byte signature, version/command, family, length 12, then 4+4+2+2 address bytes.
        assertThat(bytes.readableBytes()).isEqualTo(28);
        HAProxyMessage decoded = decode(bytes);
        assertThat(decoded.protocolVersion()).isEqualTo(HAProxyProtocolVersion.V2);
        assertThat(decoded.proxiedProtocol()).isEqualTo(HAProxyProxiedProtocol.TCP4);
        assertThat(decoded.sourceAddress()).isEqualTo("192.0.2.7");
        assertThat(decoded.destinationAddress()).isEqualTo("198.51.100.25");
        assertThat(decoded.sourcePort()).isEqualTo(40000);
        assertThat(decoded.destinationPort()).isEqualTo(25);
        decoded.release();
    }

    @Test
    void dualStackIpv4ClientIsAnnouncedAsTcp4() throws Exception {
        byte[] mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff, (byte) 192, 0, 2, 7};
        byte[] mappedLocal = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff, (byte) 198, 51, 100, 25};
        InetSocketAddress client = new InetSocketAddress(java.net.Inet6Address.getByAddress(null, mapped, -1), 40000);
        InetSocketAddress local = new InetSocketAddress(
                java.net.Inet6Address.getByAddress(null, mappedLocal, -1), 25);

        HAProxyMessage header = RelayProxyHeader.create(ProxyHeader.V2, Addresses.normalize(client),
                Addresses.normalize(local));

        assertThat(header.proxiedProtocol()).isEqualTo(HAProxyProxiedProtocol.TCP4);
        assertThat(header.sourceAddress()).isEqualTo("192.0.2.7");
        assertThat(header.destinationAddress()).isEqualTo("198.51.100.25");
        header.release();
    }

    @Test
    void offIsNotAHeaderVersion() {
        assertThatThrownBy(() -> RelayProxyHeader.create(ProxyHeader.OFF, address("192.0.2.7", 1),
                address("192.0.2.8", 2)))
                .hasMessage("send-proxy: off (expected: v1 or v2)");
    }

    @Test
    void backendSettingOverridesPool() {
        BackendSettings plain = new BackendSettings("old", new InetSocketAddress(25), 1, 0, false, ProxyHeader.OFF);
        BackendSettings proxied = new BackendSettings("mx1", new InetSocketAddress(25), 1, 0, false, ProxyHeader.V2);
        PoolSettings pool = new PoolSettings("relays", PoolSettings.BalanceAlgorithm.LEAST_CONNECTIONS,
                List.of(plain, proxied), null, 1, true, null, null, ProxyHeader.V2, null, null, null);

        assertThat(RelayProxyHeader.versionFor(pool, "old")).isEqualTo(ProxyHeader.OFF);
        assertThat(RelayProxyHeader.versionFor(pool, "mx1")).isEqualTo(ProxyHeader.V2);
    }
}
