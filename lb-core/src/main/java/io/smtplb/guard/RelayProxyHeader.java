package io.smtplb.guard;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageEncoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import io.netty.util.NetUtil;
import io.smtplb.config.BackendSettings;
import io.smtplb.config.PoolSettings;
import io.smtplb.health.HealthCheckSettings.ProxyHeader;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;

/**
 * The PROXY protocol header that gives a relay the client's real address.
 *
 * <p>The header names the client as source and the address the client connected to as destination. Its family
 * follows the addresses: two IPv4 addresses give {@code TCP4} with dotted quads, so an IPv4 client of a
 * dual-stack listener never appears as {@code ::ffff:192.0.2.1}; IPv6 gives {@code TCP6}. Callers pass addresses
 * already normalised by {@code io.smtplb.proxy.Addresses.normalize}.
 *
 * <p>The header goes out in one write before any other byte, right after the TCP connect and before the relay's
 * greeting is read. Postfix's smtpd reads it with a single peek and waits only
 * {@code smtpd_upstream_proxy_timeout} (5 s by default) for it; a relay that waits for the header while smtplb
 * waits for the greeting would otherwise deadlock.
 */
public final class RelayProxyHeader {

    private static final String ENCODER_NAME = "proxy-header-encoder";

    private RelayProxyHeader() {
    }

    /** Returns the header version configured for the backend {@code backend} of {@code pool}. */
    public static ProxyHeader versionFor(PoolSettings pool, String backend) {
        for (BackendSettings settings : pool.backends()) {
            if (settings.name().equals(backend)) {
                return settings.sendProxy();
            }
        }
        return pool.sendProxy();
    }

    /**
     * Creates the header for a client connection.
     *
     * @param version {@link ProxyHeader#V1} or {@link ProxyHeader#V2}
     * @param source the client's address
     * @param destination the address the client connected to
     * @throws IllegalArgumentException for {@link ProxyHeader#OFF}
     */
    public static HAProxyMessage create(ProxyHeader version, InetSocketAddress source, InetSocketAddress destination) {
        HAProxyProtocolVersion protocolVersion = switch (version) {
            case V1 -> HAProxyProtocolVersion.V1;
            case V2 -> HAProxyProtocolVersion.V2;
            case OFF -> throw new IllegalArgumentException("send-proxy: off (expected: v1 or v2)");
        };
        InetAddress from = source.getAddress();
        InetAddress to = destination.getAddress();
        boolean ipv4 = from instanceof Inet4Address && to instanceof Inet4Address;
        if (!ipv4) {
            from = asIpv6(from);
            to = asIpv6(to);
        }
        return new HAProxyMessage(protocolVersion, HAProxyCommand.PROXY,
                ipv4 ? HAProxyProxiedProtocol.TCP4 : HAProxyProxiedProtocol.TCP6,
                NetUtil.toAddressString(from), NetUtil.toAddressString(to), source.getPort(), destination.getPort());
    }

    /**
     * Encodes {@code header} with Netty's {@link HAProxyMessageEncoder} and writes it to {@code relay} as one
     * buffer, then flushes. Must run on the relay's event loop, which makes the encoding happen before the
     * encoder leaves the pipeline again; the header then precedes every byte written later.
     */
    public static ChannelFuture write(Channel relay, HAProxyMessage header) {
        if (!relay.eventLoop().inEventLoop()) {
            throw new IllegalStateException("PROXY header write outside the relay's event loop");
        }
        relay.pipeline().addFirst(ENCODER_NAME, HAProxyMessageEncoder.INSTANCE);
        try {
            return relay.writeAndFlush(header);
        } finally {
            relay.pipeline().remove(ENCODER_NAME);
        }
    }

    /** Returns an IPv4 address as IPv4-mapped IPv6, for the rare header that mixes the two families. */
    private static InetAddress asIpv6(InetAddress address) {
        if (!(address instanceof Inet4Address)) {
            return address;
        }
        byte[] v4 = address.getAddress();
        byte[] mapped = new byte[16];
        mapped[10] = (byte) 0xff;
        mapped[11] = (byte) 0xff;
        System.arraycopy(v4, 0, mapped, 12, 4);
        try {
            return java.net.Inet6Address.getByAddress(null, mapped, -1);
        } catch (UnknownHostException e) {
            throw new IllegalStateException("a 16-byte address is always valid", e);
        }
    }
}
