package io.smtplb.config;

import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigValue;
import io.smtplb.config.LoadContext.BindSite;
import io.smtplb.config.Settings.AccessLogFormat;
import io.smtplb.config.Settings.AccessLogSettings;
import io.smtplb.config.Settings.AdminSettings;
import io.smtplb.config.Settings.ForwardingMode;
import io.smtplb.config.Settings.LimitSettings;
import io.smtplb.config.Settings.TimeoutSettings;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Turns the merged, resolved configuration into {@link Settings}, recording every problem on the way. The
 * listener and pool entries are read by {@link ListenerReader} and {@link PoolReader}.
 */
final class SettingsReader {

    private static final Pattern TOKEN = Pattern.compile("[\\p{Graph}]+");

    private final LoadContext context;
    private final ConfigObject referenceDefaults;

    /**
     * @param referenceDefaults {@code smtplb.defaults} of {@code reference.conf}, used for any part of the user's
     *                          {@code smtplb.defaults} that is not an object (the schema check reports that)
     */
    SettingsReader(LoadContext context, ConfigObject referenceDefaults) {
        this.context = context;
        this.referenceDefaults = referenceDefaults;
    }

    /**
     * Reads the settings; the caller must check the problem collector before using the result.
     *
     * @param root the user's file merged over reference.conf and resolved
     * @param userRoot the user's file alone, for the line of problems about {@code smtplb} as a whole
     */
    Settings read(ConfigObject root, ConfigObject userRoot, Path source) {
        ConfigObject smtplb = LoadContext.objectOrEmpty(root.get("smtplb"));
        ConfigObject userSmtplb = LoadContext.objectOr(userRoot.get("smtplb"), userRoot);
        ConfigReader top = ConfigReader.of(smtplb, userSmtplb, "smtplb", context.problems());

        String hostname = readHostname(top);
        ForwardingMode forwarding = top.choice("forwarding", ForwardingMode.class);
        int eventLoopThreads = readEventLoopThreads(top);
        Map<String, PoolSettings> pools = new PoolReader(context, defaults(smtplb, "pool"), defaults(smtplb, "backend"))
                .read(top);
        Set<String> poolNames = LoadContext.objectOrEmpty(smtplb.get("pools")).keySet();
        Map<String, ListenerSettings> listeners = new ListenerReader(context, defaults(smtplb, "listener"), poolNames)
                .read(top);
        TimeoutSettings timeouts = readTimeouts(top.section("timeouts"));
        LimitSettings limits = readLimits(top.section("limits"));
        AdminSettings admin = readAdmin(top.section("admin"));
        AccessLogSettings accessLog = readAccessLog(top.section("access-log"));
        BindConflicts.check(context.binds(), context.problems());

        return new Settings(source, hostname, forwarding, eventLoopThreads, listeners, pools, timeouts, limits, admin,
                accessLog);
    }

    /** Returns the merged {@code smtplb.defaults.<kind>} object, or the reference one if the user's is broken. */
    private ConfigObject defaults(ConfigObject smtplb, String kind) {
        ConfigObject defaults = LoadContext.objectOr(smtplb.get("defaults"), referenceDefaults);
        return LoadContext.objectOr(defaults.get(kind), (ConfigObject) referenceDefaults.get(kind));
    }

    private String readHostname(ConfigReader top) {
        String hostname = top.string("hostname", "a host name");
        if (hostname == null || hostname.isEmpty()) {
            return context.localHostName();
        }
        if (!Addresses.isHostName(hostname)) {
            top.report("hostname", top.rawValue("hostname"), "(expected: a host name like mx.example.com)");
        }
        return hostname;
    }

    /** Reads the thread count; 0 becomes one thread per core here, so that the settings hold the real number. */
    private static int readEventLoopThreads(ConfigReader top) {
        int threads = top.integer("event-loop-threads", 0, Integer.MAX_VALUE);
        return threads == 0 ? Runtime.getRuntime().availableProcessors() : threads;
    }

    private static TimeoutSettings readTimeouts(ConfigReader r) {
        return new TimeoutSettings(r.positiveDuration("idle"), r.nonNegativeDuration("shutdown-drain"));
    }

    private static LimitSettings readLimits(ConfigReader r) {
        return new LimitSettings(r.integer("max-connections", 0, Integer.MAX_VALUE),
                r.integer("source-table-size", 1, Integer.MAX_VALUE));
    }

    private AdminSettings readAdmin(ConfigReader r) {
        InetSocketAddress bind = readAdminBind(r);
        String token = readToken(r);

        if (bind != null && token == null && !Addresses.isLoopback(bind.getAddress())) {
            r.report("bind", r.rawValue("bind"), "is not a loopback address and admin.token is empty (expected: "
                    + "a loopback bind, or a token): anyone who can reach the port could change backend states "
                    + "through the admin API.");
        }
        return new AdminSettings(bind, token);
    }

    private InetSocketAddress readAdminBind(ConfigReader r) {
        String text = r.string("bind", "host:port, or \"\" to disable the admin endpoint");
        if (text == null || text.isEmpty()) {
            return null;
        }

        ConfigValue value = r.rawValue("bind");
        try {
            InetSocketAddress address = Addresses.socketAddress(text, 0, context.resolver());
            context.addBind(new BindSite(address, r.keyPath("bind"), value));
            return address;
        } catch (IllegalArgumentException e) {
            r.report("bind", value, "(expected: " + e.getMessage() + ")");
            return null;
        }
    }

    /** Reads the admin token; its value never appears in a message. */
    private static String readToken(ConfigReader r) {
        String token = r.string("token", "a token");
        if (token == null || token.isEmpty()) {
            return null;
        }
        if (!TOKEN.matcher(token).matches()) {
            r.reportAt(r.rawValue("token"), r.keyPath("token"),
                    "contains spaces or control characters (expected: a token of visible ASCII characters)");
        }
        return token;
    }

    private AccessLogSettings readAccessLog(ConfigReader r) {
        boolean enabled = r.bool("enabled");
        AccessLogFormat format = r.choice("format", AccessLogFormat.class);
        Path file = readAccessLogFile(r);
        return new AccessLogSettings(enabled, format, file);
    }

    private Path readAccessLogFile(ConfigReader r) {
        String text = r.string("file", "a file name, or \"\" for standard output");
        if (text == null || text.isEmpty()) {
            return null;
        }
        try {
            Path file = context.resolvePath(text);
            // TODO: check that the file is writable. Only its directory is checked, so a permission error
            // shows at start-up instead.
            Path directory = file.toAbsolutePath().getParent();
            if (directory == null || !Files.isDirectory(directory)) {
                r.report("file", r.rawValue("file"),
                        "(expected: a file in an existing directory; " + directory + " is not a directory)");
            }
            return file;
        } catch (InvalidPathException e) {
            r.report("file", r.rawValue("file"), "(expected: a file name)");
            return null;
        }
    }
}
