package io.smtplb.config;

import com.typesafe.config.ConfigList;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import io.smtplb.config.PoolSettings.BalanceAlgorithm;
import io.smtplb.health.HealthCheckSettings;
import io.smtplb.health.HealthCheckSettings.ProxyHeader;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads {@code smtplb.pools}: each pool merged over {@code smtplb.defaults.pool}, each of its backends over
 * {@code smtplb.defaults.backend}.
 */
final class PoolReader {

    private static final String POOL_DEFAULTS_PATH = "smtplb.defaults.pool";
    private static final String BACKEND_DEFAULTS_PATH = "smtplb.defaults.backend";
    private static final String BACKENDS_EXPECTED = "a list of backends, each with name and address";

    /** Linux caps TCP_KEEPIDLE at this many seconds (MAX_TCP_KEEPIDLE in include/net/tcp.h). */
    private static final long MAX_TCP_KEEPIDLE_SECONDS = 32767;

    private final LoadContext context;
    private final ConfigObject poolDefaults;
    private final ConfigObject backendDefaults;
    private final HealthCheckReader healthCheckReader;

    PoolReader(LoadContext context, ConfigObject poolDefaults, ConfigObject backendDefaults) {
        this.context = context;
        this.poolDefaults = poolDefaults;
        this.backendDefaults = backendDefaults;
        this.healthCheckReader = new HealthCheckReader(context);
    }

    /** Reads every pool, in file order. */
    Map<String, PoolSettings> read(ConfigReader top) {
        ConfigValue value = top.rawValue("pools");
        if (value == null || value.valueType() != ConfigValueType.OBJECT) {
            return Map.of();
        }

        Map<String, PoolSettings> result = new LinkedHashMap<>();
        for (Map.Entry<String, ConfigValue> entry : EntryOrder.inFileOrder((ConfigObject) value)) {
            if (entry.getValue().valueType() == ConfigValueType.OBJECT) {
                String name = entry.getKey();
                result.put(name, readPool(name, (ConfigObject) entry.getValue()));
            }
        }
        return result;
    }

    private PoolSettings readPool(String name, ConfigObject entry) {
        String path = KeyPaths.child("smtplb.pools", name);
        ConfigReader r = ConfigReader.ofEntry(entry, poolDefaults, path, POOL_DEFAULTS_PATH, context.problems());

        BalanceAlgorithm balance = r.choice("balance", BalanceAlgorithm.class);
        Duration connectTimeout = r.positiveDuration("connect-timeout");
        int connectAttempts = r.integer("connect-attempts", 1, Integer.MAX_VALUE);
        boolean greetingFailover = r.bool("greeting-failover");
        Duration greetingTimeout = r.positiveDuration("greeting-timeout");
        Duration slowStart = r.nonNegativeDuration("slow-start");
        ProxyHeader sendProxy = r.choice("send-proxy", ProxyHeader.class);
        Duration tcpUserTimeout = readTcpUserTimeout(r);
        Duration tcpKeepalive = readTcpKeepalive(r);
        HealthCheckSettings healthCheck = healthCheckReader.read(r.section("health-check"), sendProxy);
        List<BackendSettings> backends = readBackends(r, sendProxy);

        return new PoolSettings(name, balance, backends, connectTimeout, connectAttempts, greetingFailover,
                greetingTimeout, slowStart, sendProxy, tcpUserTimeout, tcpKeepalive, healthCheck);
    }

    /** TCP_USER_TIMEOUT takes milliseconds as a C int. */
    private static Duration readTcpUserTimeout(ConfigReader r) {
        Duration timeout = r.nonNegativeDuration("tcp-user-timeout");
        if (timeout.toMillis() > Integer.MAX_VALUE) {
            r.report("tcp-user-timeout", r.rawValue("tcp-user-timeout"), "(expected: at most 24d)");
        }
        return timeout;
    }

    /** TCP_KEEPIDLE takes whole seconds, so a fraction would be cut off without a word. */
    private static Duration readTcpKeepalive(ConfigReader r) {
        Duration keepalive = r.nonNegativeDuration("tcp-keepalive");
        boolean wholeSeconds = keepalive.toNanosPart() == 0;
        if (!wholeSeconds || keepalive.getSeconds() > MAX_TCP_KEEPIDLE_SECONDS) {
            r.report("tcp-keepalive", r.rawValue("tcp-keepalive"),
                    "(expected: 0s, or whole seconds 1s.." + MAX_TCP_KEEPIDLE_SECONDS + "s)");
        }
        return keepalive;
    }

    private List<BackendSettings> readBackends(ConfigReader pool, ProxyHeader poolSendProxy) {
        if (!pool.isSetInEntry("backends")) {
            pool.reportOnEntry("backends", "missing (expected: " + BACKENDS_EXPECTED + ")");
            return List.of();
        }
        ConfigValue value = pool.rawValue("backends");
        if (value.valueType() != ConfigValueType.LIST) {
            return List.of();
        }

        ConfigList list = (ConfigList) value;
        String listPath = pool.keyPath("backends");
        if (list.isEmpty()) {
            pool.reportAt(value, listPath, "empty (expected: " + BACKENDS_EXPECTED + ")");
        }
        List<BackendSettings> backends = new ArrayList<>();
        Map<String, String> pathByName = new HashMap<>();
        for (int i = 0; i < list.size(); i++) {
            if (list.get(i).valueType() == ConfigValueType.OBJECT) {
                String path = KeyPaths.element(listPath, i);
                ConfigReader r = ConfigReader.ofEntry((ConfigObject) list.get(i), backendDefaults, path,
                        BACKEND_DEFAULTS_PATH, context.problems());
                BackendSettings backend = readBackend(r, poolSendProxy);
                rejectDuplicateName(r, backend.name(), pathByName);
                backends.add(backend);
            }
        }
        return backends;
    }

    private BackendSettings readBackend(ConfigReader r, ProxyHeader poolSendProxy) {
        String name = r.requiredString("name", ConfigSchema.NAME_EXPECTED);
        if (name != null && !ConfigSchema.NAME.matcher(name).matches()) {
            r.report("name", r.rawValue("name"), "(expected: " + ConfigSchema.NAME_EXPECTED + ")");
        }
        InetSocketAddress address = readAddress(r);
        int weight = r.integer("weight", 1, 256);
        int maxConnections = r.integer("max-connections", 0, Integer.MAX_VALUE);
        boolean backup = r.bool("backup");
        ProxyHeader sendProxy = r.isSetInEntry("send-proxy")
                ? r.choice("send-proxy", ProxyHeader.class)
                : poolSendProxy;

        return new BackendSettings(name == null ? "" : name, address, weight, maxConnections, backup, sendProxy);
    }

    private InetSocketAddress readAddress(ConfigReader r) {
        String text = r.requiredString("address", "host:port");
        if (text == null) {
            return InetSocketAddress.createUnresolved("invalid", 1);
        }
        try {
            return Addresses.socketAddress(text, 1, context.resolver());
        } catch (IllegalArgumentException e) {
            r.report("address", r.rawValue("address"), "(expected: " + e.getMessage() + ")");
            return InetSocketAddress.createUnresolved("invalid", 1);
        }
    }

    private static void rejectDuplicateName(ConfigReader r, String name, Map<String, String> pathByName) {
        if (name.isEmpty()) {
            return;
        }
        String earlier = pathByName.putIfAbsent(name, r.path());
        if (earlier != null) {
            r.report("name", r.rawValue("name"),
                    "(expected: a name unique within the pool; " + earlier + " has it too)");
        }
    }
}
