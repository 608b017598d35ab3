package io.smtplb.guard;

import io.smtplb.config.Cidr;

import java.net.InetAddress;
import java.util.List;

/**
 * A listener's allow and deny networks, matched by longest prefix.
 *
 * <p>The most specific network that contains the client decides: {@code allow = [10.0.0.0/8]} with
 * {@code deny = [10.99.0.0/16]} rejects 10.99.1.1 and admits 10.1.1.1. When an allow and a deny network of the
 * same length both match, deny wins. An empty allow list admits every address that no deny network matches; a
 * non-empty one rejects addresses that match neither list.
 *
 * <p>Immutable and safe to share between event loops. Matching allocates nothing beyond the address bytes the
 * caller passes in, so it is cheap enough for every accept.
 */
public final class AccessList {

    private final List<Cidr> allow;
    private final List<Cidr> deny;

    private AccessList(List<Cidr> allow, List<Cidr> deny) {
        this.allow = List.copyOf(allow);
        this.deny = List.copyOf(deny);
    }

    /** Creates the list of one listener. */
    public static AccessList of(List<Cidr> allow, List<Cidr> deny) {
        return new AccessList(allow, deny);
    }

    /** Returns whether a client from {@code address} may connect. */
    public boolean permits(InetAddress address) {
        return permits(Networks.bytesOf(address));
    }

    /**
     * Returns whether a client may connect; {@code address} is 4 bytes for IPv4 (IPv4-mapped IPv6 already turned
     * into IPv4) and 16 bytes for IPv6.
     */
    public boolean permits(byte[] address) {
        int denied = Networks.longestMatch(deny, address);
        if (allow.isEmpty()) {
            return denied < 0;
        }

        int allowed = Networks.longestMatch(allow, address);
        return allowed > denied;
    }

    @Override
    public String toString() {
        return "allow " + allow + ", deny " + deny;
    }
}
