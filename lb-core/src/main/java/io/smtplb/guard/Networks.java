package io.smtplb.guard;

import io.smtplb.config.Cidr;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.List;

/** Prefix matching of raw address bytes against CIDR networks, without allocating. */
final class Networks {

    private Networks() {
    }

    /**
     * Returns the address bytes with an IPv4-mapped IPv6 address ({@code ::ffff:192.0.2.1}) turned into its 4 IPv4
     * bytes, the form {@link Cidr} stores its networks in.
     */
    static byte[] bytesOf(InetAddress address) {
        byte[] bytes = address.getAddress();
        if (!(address instanceof Inet6Address) || !isIpv4Mapped(bytes)) {
            return bytes;
        }
        return new byte[] {bytes[12], bytes[13], bytes[14], bytes[15]};
    }

    private static boolean isIpv4Mapped(byte[] bytes) {
        for (int i = 0; i < 10; i++) {
            if (bytes[i] != 0) {
                return false;
            }
        }
        return bytes[10] == (byte) 0xff && bytes[11] == (byte) 0xff;
    }

    /** Returns the prefix length of the longest network in {@code networks} that contains the address, or -1. */
    static int longestMatch(List<Cidr> networks, byte[] address) {
        int longest = -1;
        for (Cidr network : networks) {
            int prefix = network.prefixLength();
            if (prefix > longest && contains(network.network(), prefix, address)) {
                longest = prefix;
            }
        }
        return longest;
    }

    /** Returns whether {@code address} starts with the first {@code prefix} bits of {@code network}. */
    static boolean contains(byte[] network, int prefix, byte[] address) {
        if (network.length != address.length) {
            return false;
        }
        int wholeBytes = prefix / 8;
        for (int i = 0; i < wholeBytes; i++) {
            if (network[i] != address[i]) {
                return false;
            }
        }
        int restBits = prefix % 8;
        if (restBits == 0) {
            return true;
        }
        int mask = (0xff << (8 - restBits)) & 0xff;
        return (network[wholeBytes] & mask) == (address[wholeBytes] & mask);
    }
}
