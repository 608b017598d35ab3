package io.smtplb.config;

import io.smtplb.health.HealthCheckSettings;
import io.smtplb.health.HealthCheckSettings.CheckType;
import io.smtplb.health.HealthCheckSettings.ProxyHeader;
import io.smtplb.health.HealthCheckSettings.TlsVerify;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Pattern;

/** Reads the {@code health-check} object of one pool. */
final class HealthCheckReader {

    /** Characters allowed in the RCPT TO address: no spaces, angle brackets or controls, which break the command. */
    private static final Pattern RECIPIENT = Pattern.compile("[^\\s<>\\p{Cntrl}]+");

    /** An address literal as EHLO accepts it (RFC 5321 section 4.1.3), such as [192.0.2.1] or [IPv6:2001:db8::1]. */
    private static final Pattern ADDRESS_LITERAL = Pattern.compile("\\[[A-Za-z0-9:.]+\\]");

    private final LoadContext context;

    HealthCheckReader(LoadContext context) {
        this.context = context;
    }

    /**
     * Reads the health check of a pool.
     *
     * @param proxyHeader the pool's {@code send-proxy}, which the probe must send too so that the relay accepts it
     */
    HealthCheckSettings read(ConfigReader r, ProxyHeader proxyHeader) {
        CheckType type = r.choice("type", CheckType.class);
        String address = readAddress(r);
        int port = r.integer("port", 0, 65535);
        String heloName = readHeloName(r);
        Duration interval = r.positiveDuration("interval");
        Duration transitionInterval = r.positiveDuration("transition-interval");
        Duration downInterval = r.positiveDuration("down-interval");
        Duration jitter = r.nonNegativeDuration("jitter");
        int rise = r.integer("rise", 1, Integer.MAX_VALUE);
        int fall = r.integer("fall", 1, Integer.MAX_VALUE);
        Duration connectTimeout = r.positiveDuration("connect-timeout");
        Duration greetingTimeout = r.positiveDuration("greeting-timeout");
        Duration stepTimeout = r.positiveDuration("step-timeout");
        Duration timeout = r.positiveDuration("timeout");
        boolean starttls = r.bool("starttls");
        TlsVerify tlsVerify = r.choice("tls-verify", TlsVerify.class);
        String tlsServerName = readTlsServerName(r);
        Path tlsCaFile = readCaFile(r);
        boolean deepCheck = r.bool("deep-check");
        String deepCheckRecipient = readRecipient(r);

        return new HealthCheckSettings(type, address, port, heloName, interval, transitionInterval, downInterval,
                jitter, rise, fall, connectTimeout, greetingTimeout, stepTimeout, timeout, starttls, tlsVerify,
                tlsServerName, tlsCaFile, deepCheck, deepCheckRecipient, proxyHeader);
    }

    /**
     * Reads the probe address: {@code ""} for the backend's own, else a host resolved now to catch typos. An IPv6
     * literal is returned without brackets.
     */
    private String readAddress(ConfigReader r) {
        String address = r.string("address", "a host name or IP address");
        if (address == null || address.isEmpty()) {
            return null;
        }
        try {
            Addresses.resolve(address, context.resolver());
        } catch (IllegalArgumentException e) {
            r.report("address", r.rawValue("address"), "(expected: " + e.getMessage() + ")");
        }
        boolean bracketed = address.startsWith("[") && address.endsWith("]");
        return bracketed ? address.substring(1, address.length() - 1) : address;
    }

    private String readHeloName(ConfigReader r) {
        String name = r.string("helo-name", "a host name");
        if (name == null) {
            return "localhost";
        }
        if (name.isEmpty()) {
            return context.localHostName();
        }
        if (!Addresses.isHostName(name) && !ADDRESS_LITERAL.matcher(name).matches()) {
            r.report("helo-name", r.rawValue("helo-name"),
                    "(expected: a host name like lb.example.com, or an address literal like [192.0.2.1])");
        }
        return name;
    }

    private static String readTlsServerName(ConfigReader r) {
        String name = r.string("tls-server-name", "a host name");
        if (name == null || name.isEmpty()) {
            return null;
        }
        if (!Addresses.isHostName(name)) {
            r.report("tls-server-name", r.rawValue("tls-server-name"), "(expected: a host name like mx1.example.com)");
        }
        return name;
    }

    private Path readCaFile(ConfigReader r) {
        String text = r.string("tls-ca-file", "a PEM file");
        if (text == null || text.isEmpty()) {
            return null;
        }
        try {
            Path file = context.resolvePath(text);
            // TODO: parse the certificates here, so that a file that is not PEM fails the load, not every check.
            if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
                r.report("tls-ca-file", r.rawValue("tls-ca-file"),
                        "(expected: a readable PEM file; " + file + " is not one)");
            }
            return file;
        } catch (InvalidPathException e) {
            r.report("tls-ca-file", r.rawValue("tls-ca-file"), "(expected: a file name)");
            return null;
        }
    }

    private static String readRecipient(ConfigReader r) {
        String recipient = r.string("deep-check-recipient", "a mail address");
        if (recipient == null) {
            return "postmaster";
        }
        if (!RECIPIENT.matcher(recipient).matches()) {
            r.report("deep-check-recipient", r.rawValue("deep-check-recipient"),
                    "(expected: a mail address such as postmaster or probe@example.com, without spaces or <>)");
        }
        return recipient;
    }
}
