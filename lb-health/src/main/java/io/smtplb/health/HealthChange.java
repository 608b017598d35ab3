package io.smtplb.health;

import io.netty.util.NetUtil;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * A backend going up or down.
 *
 * @param ref the backend
 * @param address the backend's own address (not a health-check override)
 * @param oldState the state before the change
 * @param newState the state after the change
 * @param reason why the backend went down, or {@code null} when it came up
 * @param detail the phrase that explains {@code reason}, such as {@code greeting was "421 4.3.2 busy"}, or
 *     {@code null} when it came up
 * @param progress the threshold that was reached, such as {@code fall 3/3} or {@code rise 2/2}
 * @param passive whether a failure seen on a client session made the change, rather than an active check
 */
public record HealthChange(BackendRef ref, InetSocketAddress address, HealthState oldState, HealthState newState,
                           FailureReason reason, String detail, String progress, boolean passive) {

    public HealthChange {
        Objects.requireNonNull(ref, "ref");
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(oldState, "oldState");
        Objects.requireNonNull(newState, "newState");
        Objects.requireNonNull(progress, "progress");
    }

    /**
     * Renders the change as the start of a log line, such as
     * {@code backend relays/mx2 (10.0.0.12:25) is DOWN: greeting was "421 4.3.2 busy" (fall 3/3)}.
     * The caller appends what only the caller has, such as how many backends of the pool remain up.
     */
    public String describe() {
        StringBuilder line = new StringBuilder(128)
                .append("backend ").append(ref)
                .append(" (").append(formatAddress(address)).append(") is ").append(newState);
        if (newState == HealthState.DOWN) {
            line.append(": ").append(detail != null ? detail : String.valueOf(reason));
        }
        line.append(" (").append(progress);
        if (passive) {
            line.append(", seen on client sessions");
        }
        return line.append(')').toString();
    }

    /** Returns {@code 10.0.0.12:25}, or {@code [2001:db8::1]:25} with the IPv6 text form of RFC 5952. */
    static String formatAddress(InetSocketAddress address) {
        InetAddress ip = address.getAddress();
        String host = ip != null ? NetUtil.toAddressString(ip) : address.getHostString();
        if (ip instanceof Inet6Address) {
            host = "[" + host + "]";
        }
        return host + ":" + address.getPort();
    }
}
