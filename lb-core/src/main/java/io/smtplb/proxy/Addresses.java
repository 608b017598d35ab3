package io.smtplb.proxy;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;

/** Normalises and formats socket addresses the same way for logs, metrics, allow-lists and PROXY headers. */
public final class Addresses {

    private Addresses() {
    }

    /**
     * Returns the address with an IPv4-mapped IPv6 host ({@code ::ffff:192.0.2.1}) turned into plain IPv4,
     * as a dual-stack listener reports IPv4 clients that way.
     */
    public static InetSocketAddress normalize(InetSocketAddress address) {
        if (address == null || !(address.getAddress() instanceof Inet6Address)) {
            return address;
        }
        byte[] bytes = address.getAddress().getAddress();
        for (int i = 0; i < 10; i++) {
            if (bytes[i] != 0) {
                return address;
            }
        }
        if (bytes[10] != (byte) 0xff || bytes[11] != (byte) 0xff) {
            return address;
        }
        try {
            InetAddress v4 = Inet4Address.getByAddress(new byte[] {bytes[12], bytes[13], bytes[14], bytes[15]});
            return new InetSocketAddress(v4, address.getPort());
        } catch (UnknownHostException e) {
            throw new IllegalStateException("a 4-byte address is always valid", e);
        }
    }

    /** Formats as {@code host:port}, with IPv6 hosts in brackets: {@code [2001:db8::1]:25}. */
    public static String format(InetSocketAddress address) {
        if (address == null) {
            return "-";
        }
        String host = address.getAddress() != null ? address.getAddress().getHostAddress() : address.getHostString();
        return host.indexOf(':') >= 0 ? "[" + host + "]:" + address.getPort() : host + ":" + address.getPort();
    }

    /** Formats only the host part, without brackets. */
    public static String host(InetSocketAddress address) {
        return address.getAddress() != null ? address.getAddress().getHostAddress() : address.getHostString();
    }
}
