package io.smtplb.config;

import com.typesafe.config.ConfigUtil;
import io.smtplb.config.Settings.AccessLogSettings;
import io.smtplb.config.Settings.AdminSettings;
import io.smtplb.health.HealthCheckSettings;

import java.math.BigDecimal;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Writes {@link Settings} back as HOCON, every value explicit, in the layout of {@code reference.conf}. See
 * {@link SettingsLoader#renderEffective}.
 */
final class EffectiveConfigRenderer {

    static final String MASKED_TOKEN = "********";

    private static final String INDENT = "  ";

    /** Units that Typesafe Config reads, largest first, with the suffix written for each. */
    private static final List<Unit> UNITS = List.of(
            new Unit(ChronoUnit.DAYS, "d"), new Unit(ChronoUnit.HOURS, "h"), new Unit(ChronoUnit.MINUTES, "m"),
            new Unit(ChronoUnit.SECONDS, "s"), new Unit(ChronoUnit.MILLIS, "ms"), new Unit(ChronoUnit.MICROS, "us"));

    private record Unit(ChronoUnit unit, String suffix) {
    }

    private final StringBuilder out = new StringBuilder();
    private int depth;

    private EffectiveConfigRenderer() {
    }

    static String render(Settings settings) {
        EffectiveConfigRenderer renderer = new EffectiveConfigRenderer();
        renderer.settings(settings);
        return renderer.out.toString();
    }

    private void settings(Settings s) {
        comment("Effective configuration" + (s.source() == null ? "" : " of " + s.source())
                + ": the file merged with the defaults, per entry.");
        open("smtplb");
        entry("hostname", quote(s.hostname()));
        entry("forwarding", ConfigReader.configName(s.forwarding()));
        entry("event-loop-threads", String.valueOf(s.eventLoopThreads()));
        open("listeners");
        s.listeners().values().forEach(this::listener);
        close();
        open("pools");
        s.pools().values().forEach(this::pool);
        close();
        timeoutsAndLimits(s);
        admin(s.admin());
        accessLog(s.accessLog());
        close();
    }

    private void listener(ListenerSettings l) {
        open(KeyPaths.child("", l.name()));
        entry("bind", list(l.binds().stream().map(Addresses::format).toList()));
        entry("pool", quote(l.pool()));
        entry("allow", networks(l.allow()));
        entry("deny", networks(l.deny()));
        entry("deny-action", ConfigReader.configName(l.denyAction()));
        entry("open-relay-ok", String.valueOf(l.openRelayOk()));
        entry("accept-proxy", onOff(l.acceptProxy()));
        entry("trusted-proxies", networks(l.trustedProxies()));
        entry("accept-proxy-timeout", duration(l.acceptProxyTimeout()));
        entry("max-connections", String.valueOf(l.maxConnections()));
        entry("max-connections-per-source", String.valueOf(l.maxConnectionsPerSource()));
        entry("max-connection-rate-per-source", decimal(l.maxConnectionRatePerSource()));
        entry("connection-rate-burst", String.valueOf(l.connectionRateBurst()));
        close();
    }

    private void pool(PoolSettings p) {
        open(KeyPaths.child("", p.name()));
        entry("balance", ConfigReader.configName(p.balance()));
        entry("connect-timeout", duration(p.connectTimeout()));
        entry("connect-attempts", String.valueOf(p.connectAttempts()));
        entry("greeting-failover", onOff(p.greetingFailover()));
        entry("greeting-timeout", duration(p.greetingTimeout()));
        entry("slow-start", duration(p.slowStart()));
        entry("send-proxy", ConfigReader.configName(p.sendProxy()));
        entry("tcp-user-timeout", duration(p.tcpUserTimeout()));
        entry("tcp-keepalive", duration(p.tcpKeepalive()));
        healthCheck(p.healthCheck());
        line("backends = [");
        depth++;
        p.backends().forEach(this::backend);
        depth--;
        line("]");
        close();
    }

    private void healthCheck(HealthCheckSettings h) {
        open("health-check");
        entry("type", ConfigReader.configName(h.type()));
        entry("address", quote(h.address() == null ? "" : h.address()));
        entry("port", String.valueOf(h.port()));
        entry("helo-name", quote(h.heloName()));
        entry("interval", duration(h.interval()));
        entry("transition-interval", duration(h.transitionInterval()));
        entry("down-interval", duration(h.downInterval()));
        entry("jitter", duration(h.jitter()));
        entry("rise", String.valueOf(h.rise()));
        entry("fall", String.valueOf(h.fall()));
        entry("connect-timeout", duration(h.connectTimeout()));
        entry("greeting-timeout", duration(h.greetingTimeout()));
        entry("step-timeout", duration(h.stepTimeout()));
        entry("timeout", duration(h.timeout()));
        entry("starttls", onOff(h.starttls()));
        entry("tls-verify", ConfigReader.configName(h.tlsVerify()));
        entry("tls-server-name", quote(h.tlsServerName() == null ? "" : h.tlsServerName()));
        entry("tls-ca-file", path(h.tlsCaFile()));
        entry("deep-check", onOff(h.deepCheck()));
        entry("deep-check-recipient", quote(h.deepCheckRecipient()));
        close();
    }

    private void backend(BackendSettings b) {
        line("{");
        depth++;
        entry("name", quote(b.name()));
        entry("address", quote(Addresses.format(b.address())) + hostNameComment(b.address()));
        entry("weight", String.valueOf(b.weight()));
        entry("max-connections", String.valueOf(b.maxConnections()));
        entry("backup", String.valueOf(b.backup()));
        entry("send-proxy", ConfigReader.configName(b.sendProxy()));
        depth--;
        line("}");
    }

    private void timeoutsAndLimits(Settings s) {
        open("timeouts");
        entry("idle", duration(s.timeouts().idle()));
        entry("shutdown-drain", duration(s.timeouts().shutdownDrain()));
        close();
        open("limits");
        entry("max-connections", String.valueOf(s.limits().maxConnections()));
        entry("source-table-size", String.valueOf(s.limits().sourceTableSize()));
        close();
    }

    private void admin(AdminSettings admin) {
        open("admin");
        entry("bind", quote(admin.bind() == null ? "" : Addresses.format(admin.bind())));
        entry("token", admin.token() == null ? quote("") : quote(MASKED_TOKEN) + "  # masked");
        close();
    }

    private void accessLog(AccessLogSettings log) {
        open("access-log");
        entry("enabled", String.valueOf(log.enabled()));
        entry("format", ConfigReader.configName(log.format()));
        entry("file", path(log.file()));
        close();
    }

    /** Writes a duration in the largest unit that represents it exactly, such as {@code 11m} or {@code 500ms}. */
    static String duration(Duration duration) {
        if (duration.isZero()) {
            return "0s";
        }
        for (Unit unit : UNITS) {
            Duration size = unit.unit().getDuration();
            if (duration.toNanos() % size.toNanos() == 0) {
                return duration.toNanos() / size.toNanos() + unit.suffix();
            }
        }
        return duration.toNanos() + "ns";
    }

    /** Names the host that an address was resolved from, so the output shows both. */
    private static String hostNameComment(InetSocketAddress address) {
        String host = address.getHostString();
        if (address.isUnresolved()) {
            return "";
        }
        boolean fromName = !host.equals(address.getAddress().getHostAddress()) && Addresses.isHostName(host);
        return fromName ? "  # " + host : "";
    }

    private static String networks(List<Cidr> networks) {
        return list(networks.stream().map(Cidr::toString).toList());
    }

    private static String list(List<String> values) {
        return values.stream().map(EffectiveConfigRenderer::quote).collect(Collectors.joining(", ", "[", "]"));
    }

    private static String onOff(boolean value) {
        return value ? "on" : "off";
    }

    private static String decimal(double value) {
        return BigDecimal.valueOf(value).stripTrailingZeros().toPlainString();
    }

    private static String path(Path path) {
        return quote(path == null ? "" : path.toString());
    }

    private static String quote(String text) {
        return ConfigUtil.quoteString(text);
    }

    private void open(String key) {
        line(key + " {");
        depth++;
    }

    private void close() {
        depth--;
        line("}");
    }

    private void entry(String key, String value) {
        line(key + " = " + value);
    }

    private void comment(String text) {
        line("# " + text);
    }

    private void line(String text) {
        out.append(INDENT.repeat(depth)).append(text).append('\n');
    }
}
