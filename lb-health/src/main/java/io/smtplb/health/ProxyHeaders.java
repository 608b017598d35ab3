package io.smtplb.health;

import io.netty.channel.Channel;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import io.netty.util.NetUtil;
import io.smtplb.health.HealthCheckSettings.ProxyHeader;

import java.net.Inet6Address;
import java.net.InetSocketAddress;

/** Builds the PROXY protocol header a health check sends before anything else. */
final class ProxyHeaders {

    private ProxyHeaders() {
    }

    /**
     * Returns the header for a connected check channel.
     *
     * <p>Version 1 has no way to mark a connection as the proxy's own, so it carries the check connection's
     * real addresses ({@code TCP4} or {@code TCP6}, never {@code UNKNOWN}, which some relays reject). Version 2
     * uses the {@code LOCAL} command, which the PROXY protocol specification defines for health checks: the
     * relay then uses the connection's own addresses.
     */
    static HAProxyMessage create(ProxyHeader header, Channel channel) {
        if (header == ProxyHeader.V2) {
            return new HAProxyMessage(HAProxyProtocolVersion.V2, HAProxyCommand.LOCAL,
                    HAProxyProxiedProtocol.UNKNOWN, null, null, 0, 0);
        }
        if (header != ProxyHeader.V1) {
            throw new IllegalArgumentException("proxy header: " + header + " (expected: V1 or V2)");
        }
        InetSocketAddress local = (InetSocketAddress) channel.localAddress();
        InetSocketAddress remote = (InetSocketAddress) channel.remoteAddress();
        HAProxyProxiedProtocol protocol = remote.getAddress() instanceof Inet6Address
                ? HAProxyProxiedProtocol.TCP6 : HAProxyProxiedProtocol.TCP4;
        return new HAProxyMessage(HAProxyProtocolVersion.V1, HAProxyCommand.PROXY, protocol,
                NetUtil.toAddressString(local.getAddress()), NetUtil.toAddressString(remote.getAddress()),
                local.getPort(), remote.getPort());
    }
}
