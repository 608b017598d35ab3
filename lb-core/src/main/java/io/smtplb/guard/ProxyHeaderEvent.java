package io.smtplb.guard;

import java.net.InetSocketAddress;

/**
 * The result of reading the PROXY header of a client connection on a listener with {@code accept-proxy = on},
 * sent down the pipeline as a user event by {@link ProxyHeaderGate}. Exactly one event is sent per connection,
 * unless the connection closes first.
 *
 * @param outcome whether the header was read and trusted
 * @param client the original client, from the header; the connection's own peer for a {@code LOCAL} header;
 *     {@code null} unless {@code outcome} is {@link Outcome#RECEIVED}
 * @param destination the address the original client connected to, with the same rules as {@code client}
 * @param headerBytes length of the header in bytes, so byte counters can leave it out
 * @param detail what was wrong, for log lines; {@code "received"} for a good header
 */
public record ProxyHeaderEvent(
        Outcome outcome,
        InetSocketAddress client,
        InetSocketAddress destination,
        int headerBytes,
        String detail) {

    /** How reading the header ended. */
    public enum Outcome {
        /** A valid header arrived from a trusted proxy. */
        RECEIVED,
        /** The connection's peer is not in {@code trusted-proxies}; nothing was read. */
        UNTRUSTED,
        /** The first bytes were not a valid PROXY protocol v1 or v2 header. */
        INVALID,
        /** No complete header arrived within {@code accept-proxy-timeout}. */
        TIMEOUT
    }

    static ProxyHeaderEvent received(InetSocketAddress client, InetSocketAddress destination, int headerBytes) {
        return new ProxyHeaderEvent(Outcome.RECEIVED, client, destination, headerBytes, "received");
    }

    static ProxyHeaderEvent failed(Outcome outcome, String detail) {
        return new ProxyHeaderEvent(outcome, null, null, 0, detail);
    }
}
