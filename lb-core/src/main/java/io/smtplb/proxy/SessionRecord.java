package io.smtplb.proxy;

import java.net.InetSocketAddress;

/**
 * What one finished client session did, for the access log and metrics.
 *
 * @param id connection id, also used in log lines
 * @param startEpochMillis wall-clock time the client connected
 * @param client the client's address, IPv4 never in IPv4-mapped IPv6 form
 * @param listener listener name
 * @param pool pool name
 * @param backend name of the relay that carried the session, or {@code null} when none did
 * @param backendAddress the relay's address, or {@code null}
 * @param attempts relays tried
 * @param connectNanos time from accept until the chosen relay's TCP connect completed, -1 when none did
 * @param greetingCode reply code of the greeting passed to the client, 0 when none was read
 * @param durationNanos time from accept to close
 * @param bytesFromClient bytes forwarded from the client to the relay, -1 when unknown
 * @param bytesToClient bytes forwarded from the relay to the client, -1 when unknown
 * @param reason why the session ended
 */
public record SessionRecord(
        String id,
        long startEpochMillis,
        InetSocketAddress client,
        String listener,
        String pool,
        String backend,
        InetSocketAddress backendAddress,
        int attempts,
        long connectNanos,
        int greetingCode,
        long durationNanos,
        long bytesFromClient,
        long bytesToClient,
        CloseReason reason) {
}
