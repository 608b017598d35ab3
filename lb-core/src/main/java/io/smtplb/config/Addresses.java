package io.smtplb.config;

import io.netty.util.NetUtil;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Parses {@code host:port} values and classifies addresses for the safety rules.
 *
 * <p>IPv4 literals are parsed here rather than by {@link InetAddress#getByName}, which would accept forms like
 * {@code 10.1} and send malformed ones such as {@code 10.0.0.256} to DNS as if they were names.
 */
final class Addresses {

    static final String HOST_PORT_EXPECTED = "host:port, with IPv6 addresses in brackets like [::1]:25";

    private static final Pattern DOTTED_QUAD = Pattern.compile("(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})");
    private static final Pattern NUMERIC = Pattern.compile("[0-9.]+");
    private static final String LABEL = "[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?";
    private static final Pattern HOST_NAME = Pattern.compile("(?=.{1,253}$)" + LABEL + "(?:\\." + LABEL + ")*\\.?");

    private static final List<Cidr> LOOPBACK = List.of(Cidr.parse("127.0.0.0/8"), Cidr.parse("::1/128"));

    /** RFC 1918 networks, IPv4 and IPv6 link-local, and IPv6 unique local addresses (RFC 4193). */
    private static final List<Cidr> PRIVATE = List.of(
            Cidr.parse("10.0.0.0/8"), Cidr.parse("172.16.0.0/12"), Cidr.parse("192.168.0.0/16"),
            Cidr.parse("169.254.0.0/16"), Cidr.parse("fc00::/7"), Cidr.parse("fe80::/10"));

    /** A host and port as written, before the host is resolved. */
    record HostPort(String host, int port) {
    }

    private Addresses() {
    }

    /**
     * Splits {@code host:port}, or {@code [ipv6]:port}.
     *
     * @param minPort the lowest port accepted: 0 where an ephemeral port makes sense (binds), 1 otherwise
     * @throws IllegalArgumentException when the text cannot be split; the message states what was expected
     */
    static HostPort parseHostPort(String text, int minPort) {
        String trimmed = text.trim();
        String host;
        String port;
        if (trimmed.startsWith("[")) {
            int close = trimmed.indexOf(']');
            if (close < 0 || close + 1 >= trimmed.length() || trimmed.charAt(close + 1) != ':') {
                throw new IllegalArgumentException(HOST_PORT_EXPECTED);
            }
            host = trimmed.substring(1, close);
            port = trimmed.substring(close + 2);
        } else {
            int colon = trimmed.lastIndexOf(':');
            if (colon < 0 || trimmed.indexOf(':') != colon) {
                throw new IllegalArgumentException(HOST_PORT_EXPECTED);
            }
            host = trimmed.substring(0, colon);
            port = trimmed.substring(colon + 1);
        }
        if (host.isEmpty()) {
            throw new IllegalArgumentException(HOST_PORT_EXPECTED);
        }
        return new HostPort(host, parsePort(port, minPort));
    }

    /**
     * Resolves a host: address literals directly, names through {@code resolver}.
     *
     * @throws IllegalArgumentException when the host is malformed or cannot be resolved; the message states
     *         what was expected, for a {@code value (expected: message)} problem
     */
    static InetAddress resolve(String host, HostResolver resolver) {
        if (host.startsWith("[") && host.endsWith("]")) {
            return parseIpv6(host.substring(1, host.length() - 1));
        }
        if (host.indexOf(':') >= 0) {
            return parseIpv6(host);
        }
        if (NUMERIC.matcher(host).matches()) {
            return parseIpv4(host);
        }
        if (!HOST_NAME.matcher(host).matches()) {
            throw new IllegalArgumentException("a host name or an IP address");
        }
        try {
            // TODO: a name with several addresses yields only the first one the resolver returns; use them all.
            return resolver.resolve(host);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("a host name that resolves, or an IP address; looking up "
                    + host + " failed");
        }
    }

    /** Parses and resolves {@code host:port} in one step. */
    static InetSocketAddress socketAddress(String text, int minPort, HostResolver resolver) {
        HostPort hostPort = parseHostPort(text, minPort);
        return new InetSocketAddress(resolve(hostPort.host(), resolver), hostPort.port());
    }

    /** Returns whether a host name is well formed (letters, digits, '-', '_' and dots, RFC 1123 lengths). */
    static boolean isHostName(String text) {
        return HOST_NAME.matcher(text).matches();
    }

    static boolean isLoopback(InetAddress address) {
        return LOOPBACK.stream().anyMatch(network -> network.contains(address));
    }

    /** Returns whether the address is loopback, private or link-local, so not reachable from the Internet. */
    static boolean isNonPublic(InetAddress address) {
        return isLoopback(address) || PRIVATE.stream().anyMatch(network -> network.contains(address));
    }

    /** Formats an address as it is written in the file: {@code 10.0.0.1:25} or {@code [2001:db8::1]:25}. */
    static String format(InetSocketAddress address) {
        if (address.isUnresolved()) {
            return address.getHostString() + ":" + address.getPort();
        }
        return format(address.getAddress()) + ":" + address.getPort();
    }

    /** Formats an IP address, IPv6 in brackets and in the compressed form of RFC 5952 ({@code [2001:db8::1]}). */
    static String format(InetAddress address) {
        String literal = NetUtil.toAddressString(address);
        return address instanceof Inet6Address ? "[" + literal + "]" : literal;
    }

    private static int parsePort(String text, int minPort) {
        String expected = "a port " + minPort + "..65535";
        if (!text.matches("[0-9]{1,5}")) {
            throw new IllegalArgumentException(HOST_PORT_EXPECTED + ", and " + expected);
        }
        int port = Integer.parseInt(text);
        if (port < minPort || port > 65535) {
            throw new IllegalArgumentException(expected);
        }
        return port;
    }

    private static InetAddress parseIpv4(String host) {
        var matcher = DOTTED_QUAD.matcher(host);
        if (!matcher.matches()) {
            throw new IllegalArgumentException("an IPv4 address of four numbers 0..255, or a host name");
        }

        byte[] bytes = new byte[4];
        for (int i = 0; i < 4; i++) {
            int part = Integer.parseInt(matcher.group(i + 1));
            if (part > 255) {
                throw new IllegalArgumentException("an IPv4 address of four numbers 0..255, or a host name");
            }
            bytes[i] = (byte) part;
        }
        try {
            return InetAddress.getByAddress(bytes);
        } catch (UnknownHostException e) {
            throw new AssertionError("four bytes are always a valid IPv4 address", e);
        }
    }

    /** Parses an IPv6 literal. Given a bracketed host, the JDK parses it as a literal and never looks it up. */
    private static InetAddress parseIpv6(String host) {
        try {
            return InetAddress.getByName("[" + host + "]");
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("a valid IPv6 address");
        }
    }
}
