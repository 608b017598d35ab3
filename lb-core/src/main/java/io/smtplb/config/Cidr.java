package io.smtplb.config;

import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * An IPv4 or IPv6 network in CIDR notation, such as {@code 10.0.0.0/8} or {@code 2001:db8::/32}.
 *
 * <p>IPv4-mapped IPv6 addresses ({@code ::ffff:10.0.0.1}) are matched as IPv4, so a dual-stack listener
 * applies IPv4 rules to IPv4 clients.
 */
public record Cidr(byte[] network, int prefixLength, String text) {

    private static final String OCTET = "(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])";
    private static final java.util.regex.Pattern DOTTED_QUAD =
            java.util.regex.Pattern.compile(OCTET + "(\\." + OCTET + "){3}");

    /**
     * Parses {@code address/prefix} or a bare address (a host route).
     *
     * @throws IllegalArgumentException with a message naming the value and the expected form
     */
    public static Cidr parse(String text) {
        String trimmed = text.trim();
        int slash = trimmed.indexOf('/');
        String host = slash < 0 ? trimmed : trimmed.substring(0, slash);
        byte[] address = parseLiteral(host, text);
        // ::ffff:10.0.0.0/104 is written in IPv6 bits but becomes the IPv4 network 10.0.0.0/8.
        int mappedBits = host.indexOf(':') >= 0 && address.length == 4 ? 96 : 0;
        int maxPrefix = address.length * 8;
        int prefix = maxPrefix;
        if (slash >= 0) {
            String prefixText = trimmed.substring(slash + 1);
            if (!prefixText.matches("[0-9]{1,3}")) {
                throw invalid(text);
            }
            prefix = Integer.parseInt(prefixText) - mappedBits;
        }
        if (prefix < 0 || prefix > maxPrefix) {
            throw new IllegalArgumentException(
                    "invalid network \"" + text + "\": prefix length " + (prefix + mappedBits)
                            + " (expected: " + mappedBits + ".." + (maxPrefix + mappedBits) + ")");
        }
        return new Cidr(mask(address, prefix), prefix, trimmed);
    }

    /** Returns whether {@code address} lies inside this network. */
    public boolean contains(InetAddress address) {
        byte[] candidate = normalize(address.getAddress());
        if (candidate.length != network.length) {
            return false;
        }
        return java.util.Arrays.equals(mask(candidate, prefixLength), network);
    }

    @Override
    public String toString() {
        return text;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof Cidr cidr && cidr.prefixLength == prefixLength
                && java.util.Arrays.equals(cidr.network, network);
    }

    @Override
    public int hashCode() {
        return 31 * java.util.Arrays.hashCode(network) + prefixLength;
    }

    /**
     * Parses an address literal. IPv4 must have four parts: the JDK would also accept BSD forms such as
     * {@code 10.1} (read as 10.0.0.1), which in a network list is far more likely a typo than intended.
     */
    private static byte[] parseLiteral(String host, String text) {
        boolean literal = host.indexOf(':') >= 0 || DOTTED_QUAD.matcher(host).matches();
        if (!literal) {
            throw invalid(text);
        }
        try {
            // Brackets make the JDK parse an IPv6 literal without a name lookup.
            String literalHost = host.indexOf(':') >= 0 ? "[" + host + "]" : host;
            return normalize(InetAddress.getByName(literalHost).getAddress());
        } catch (UnknownHostException e) {
            throw invalid(text);
        }
    }

    /** Turns an IPv4-mapped IPv6 address into its 4-byte IPv4 form; other addresses are returned as they are. */
    static byte[] normalize(byte[] address) {
        if (address.length != 16) {
            return address;
        }
        for (int i = 0; i < 10; i++) {
            if (address[i] != 0) {
                return address;
            }
        }
        if (address[10] != (byte) 0xff || address[11] != (byte) 0xff) {
            return address;
        }
        return java.util.Arrays.copyOfRange(address, 12, 16);
    }

    private static byte[] mask(byte[] address, int prefix) {
        byte[] masked = address.clone();
        for (int i = 0; i < masked.length; i++) {
            int bits = Math.max(0, Math.min(8, prefix - i * 8));
            masked[i] &= (byte) (0xff << (8 - bits));
        }
        return masked;
    }

    private static IllegalArgumentException invalid(String text) {
        return new IllegalArgumentException(
                "invalid network \"" + text + "\" (expected: an IP address with an optional /prefix, "
                        + "like 192.0.2.0/24 or 2001:db8::/32)");
    }
}
