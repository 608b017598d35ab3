package io.smtplb.accesslog;

import io.netty.util.NetUtil;
import io.smtplb.config.Settings.AccessLogFormat;
import io.smtplb.proxy.SessionRecord;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.TimeUnit;

/**
 * Renders one finished session as one access log line, in logfmt or JSON. Both formats carry the same fields
 * under the same names:
 *
 * <pre>
 * time=2025-05-01T09:30:12.345Z id=0000002a client=192.0.2.10:50123 listener=smtp pool=relays backend=mx1
 *   backend_address=10.0.0.11:25 attempts=1 connect_ms=0.412 greeting=220 duration_ms=153.208
 *   bytes_from_client=1843 bytes_to_client=412 reason=relay-closed
 * </pre>
 *
 * {@code time} is when the session ended, in UTC. A value that does not apply (no relay carried the session,
 * no greeting was read) is {@code -} in logfmt and {@code null} in JSON.
 */
public abstract class AccessLogFormatter {

    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

    /** Returns the formatter for a configured format. */
    public static AccessLogFormatter of(AccessLogFormat format) {
        return format == AccessLogFormat.JSON ? new Json() : new Logfmt();
    }

    /** Returns the line for a session, without a line terminator. */
    public final String format(SessionRecord session) {
        StringBuilder line = new StringBuilder(320);
        begin(line);
        text(line, "time", TIME.format(Instant.ofEpochMilli(endMillis(session))));
        text(line, "id", session.id());
        text(line, "client", address(session.client()));
        text(line, "listener", session.listener());
        text(line, "pool", session.pool());
        text(line, "backend", session.backend());
        text(line, "backend_address", address(session.backendAddress()));
        number(line, "attempts", Integer.toString(session.attempts()));
        number(line, "connect_ms", session.connectNanos() < 0 ? null : millis(session.connectNanos()));
        number(line, "greeting", session.greetingCode() == 0 ? null : Integer.toString(session.greetingCode()));
        number(line, "duration_ms", millis(session.durationNanos()));
        number(line, "bytes_from_client", count(session.bytesFromClient()));
        number(line, "bytes_to_client", count(session.bytesToClient()));
        text(line, "reason", session.reason().label());
        end(line);
        return line.toString();
    }

    abstract void begin(StringBuilder line);

    /** Appends a string field; {@code value} may be {@code null}. */
    abstract void text(StringBuilder line, String key, String value);

    /** Appends a numeric field already rendered as digits; {@code value} may be {@code null}. */
    abstract void number(StringBuilder line, String key, String value);

    abstract void end(StringBuilder line);

    private static long endMillis(SessionRecord session) {
        return session.startEpochMillis() + TimeUnit.NANOSECONDS.toMillis(session.durationNanos());
    }

    /** Renders nanoseconds as milliseconds with three decimals, such as {@code 0.412}. */
    static String millis(long nanos) {
        long micros = TimeUnit.NANOSECONDS.toMicros(nanos);
        long fraction = micros % 1000;
        String digits = Long.toString(fraction);
        return (micros / 1000) + "." + "000".substring(digits.length()) + digits;
    }

    /** Formats {@code 192.0.2.1:25} or {@code [2001:db8::1]:25}, IPv6 compressed as RFC 5952 recommends. */
    static String address(InetSocketAddress address) {
        if (address == null) {
            return null;
        }
        InetAddress ip = address.getAddress();
        if (ip == null) {
            return address.getHostString() + ":" + address.getPort();
        }
        String host = NetUtil.toAddressString(ip);
        return ip instanceof Inet6Address ? "[" + host + "]:" + address.getPort() : host + ":" + address.getPort();
    }

    private static String count(long bytes) {
        return bytes < 0 ? null : Long.toString(bytes);
    }

    /** {@code key=value} pairs separated by spaces; values with spaces, quotes or {@code =} are quoted. */
    static final class Logfmt extends AccessLogFormatter {
        @Override
        void begin(StringBuilder line) {
        }

        @Override
        void text(StringBuilder line, String key, String value) {
            separate(line).append(key).append('=');
            if (value == null) {
                line.append('-');
            } else if (needsQuotes(value)) {
                quote(line, value);
            } else {
                line.append(value);
            }
        }

        @Override
        void number(StringBuilder line, String key, String value) {
            separate(line).append(key).append('=').append(value == null ? "-" : value);
        }

        @Override
        void end(StringBuilder line) {
        }

        private static StringBuilder separate(StringBuilder line) {
            return line.length() == 0 ? line : line.append(' ');
        }

        private static boolean needsQuotes(String value) {
            if (value.isEmpty() || value.equals("-")) {
                return true;
            }
            for (int i = 0; i < value.length(); i++) {
                char c = value.charAt(i);
                if (c <= ' ' || c == '=' || c == '"' || c == '\\' || c == 0x7f) {
                    return true;
                }
            }
            return false;
        }

        private static void quote(StringBuilder line, String value) {
            line.append('"');
            for (int i = 0; i < value.length(); i++) {
                char c = value.charAt(i);
                if (c == '"' || c == '\\') {
                    line.append('\\').append(c);
                } else if (c < ' ' || c == 0x7f) {
                    line.append(String.format("\\u%04x", (int) c));
                } else {
                    line.append(c);
                }
            }
            line.append('"');
        }
    }

    /** One JSON object per line. */
    static final class Json extends AccessLogFormatter {
        @Override
        void begin(StringBuilder line) {
            line.append('{');
        }

        @Override
        void text(StringBuilder line, String key, String value) {
            key(line, key);
            if (value == null) {
                line.append("null");
                return;
            }
            line.append('"');
            for (int i = 0; i < value.length(); i++) {
                char c = value.charAt(i);
                if (c == '"' || c == '\\') {
                    line.append('\\').append(c);
                } else if (c < ' ') {
                    line.append(String.format("\\u%04x", (int) c));
                } else {
                    line.append(c);
                }
            }
            line.append('"');
        }

        @Override
        void number(StringBuilder line, String key, String value) {
            key(line, key);
            line.append(value == null ? "null" : value);
        }

        @Override
        void end(StringBuilder line) {
            line.append('}');
        }

        private static void key(StringBuilder line, String key) {
            if (line.length() > 1) {
                line.append(',');
            }
            line.append('"').append(key).append("\":");
        }
    }
}
