package io.smtplb.config;

import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import io.smtplb.config.ConfigReader.Item;
import io.smtplb.config.ListenerSettings.DenyAction;
import io.smtplb.config.LoadContext.BindSite;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** Reads {@code smtplb.listeners}, each entry merged over {@code smtplb.defaults.listener}. */
final class ListenerReader {

    private static final String DEFAULTS_PATH = "smtplb.defaults.listener";
    private static final String BIND_EXPECTED = "host:port";

    private final LoadContext context;
    private final ConfigObject defaults;
    private final Set<String> poolNames;

    /**
     * @param defaults the merged {@code smtplb.defaults.listener} object
     * @param poolNames names of the pools the file defines, valid or not, for the pool reference check
     */
    ListenerReader(LoadContext context, ConfigObject defaults, Set<String> poolNames) {
        this.context = context;
        this.defaults = defaults;
        this.poolNames = poolNames;
    }

    /** Reads every listener, in file order. At least one is required. */
    Map<String, ListenerSettings> read(ConfigReader top) {
        ConfigValue value = top.rawValue("listeners");
        if (value == null || value.valueType() != ConfigValueType.OBJECT) {
            return Map.of();
        }

        ConfigObject listeners = (ConfigObject) value;
        if (listeners.isEmpty()) {
            top.reportOnEntry("listeners", "empty (expected: at least one listener with bind and pool)");
        }
        Map<String, ListenerSettings> result = new LinkedHashMap<>();
        for (Map.Entry<String, ConfigValue> entry : EntryOrder.inFileOrder(listeners)) {
            if (entry.getValue().valueType() == ConfigValueType.OBJECT) {
                String name = entry.getKey();
                result.put(name, readListener(name, (ConfigObject) entry.getValue()));
            }
        }
        return result;
    }

    private ListenerSettings readListener(String name, ConfigObject entry) {
        String path = KeyPaths.child("smtplb.listeners", name);
        ConfigReader r = ConfigReader.ofEntry(entry, defaults, path, DEFAULTS_PATH, context.problems());

        List<BindSite> bindSites = readBinds(r);
        String pool = readPoolReference(r);
        List<Cidr> allow = r.networks("allow");
        List<Cidr> deny = r.networks("deny");
        DenyAction denyAction = r.choice("deny-action", DenyAction.class);
        boolean openRelayOk = r.bool("open-relay-ok");
        boolean acceptProxy = r.bool("accept-proxy");
        List<Cidr> trustedProxies = r.networks("trusted-proxies");
        Duration acceptProxyTimeout = r.positiveDuration("accept-proxy-timeout");
        int maxConnections = r.integer("max-connections", 0, Integer.MAX_VALUE);
        int maxConnectionsPerSource = r.integer("max-connections-per-source", 0, Integer.MAX_VALUE);
        double maxConnectionRatePerSource = r.decimal("max-connection-rate-per-source", 0);
        int connectionRateBurst = r.integer("connection-rate-burst", 1, Integer.MAX_VALUE);

        if (!openRelayOk) {
            rejectOpenRelay(r, bindSites, allow);
        }
        if (acceptProxy && trustedProxies.isEmpty()) {
            r.report("accept-proxy", r.rawValue("accept-proxy"), "with an empty trusted-proxies list (expected: "
                    + "trusted-proxies naming the balancers in front of smtplb): any client could send a PROXY "
                    + "header with a forged source address and get past allow and deny.");
        }
        List<InetSocketAddress> binds = bindSites.stream().map(BindSite::address).toList();
        return new ListenerSettings(name, binds, pool == null ? "" : pool, allow, deny, denyAction, openRelayOk,
                acceptProxy, trustedProxies, acceptProxyTimeout, maxConnections, maxConnectionsPerSource,
                maxConnectionRatePerSource, connectionRateBurst);
    }

    private List<BindSite> readBinds(ConfigReader r) {
        if (!r.isSetInEntry("bind")) {
            r.reportOnEntry("bind", "missing (expected: " + BIND_EXPECTED + " or a list of them)");
            return List.of();
        }

        List<Item> items = r.strings("bind", BIND_EXPECTED);
        ConfigValue value = r.rawValue("bind");
        if (items.isEmpty() && value.valueType() == ConfigValueType.LIST && ((List<?>) value).isEmpty()) {
            r.reportAt(value, r.keyPath("bind"), "empty (expected: at least one " + BIND_EXPECTED + ")");
        }
        List<BindSite> binds = new ArrayList<>();
        for (Item item : items) {
            try {
                InetSocketAddress address = Addresses.socketAddress(item.text(), 0, context.resolver());
                BindSite site = new BindSite(address, item.path(), item.value());
                binds.add(site);
                context.addBind(site);
            } catch (IllegalArgumentException e) {
                String message = KeyPaths.text(item.text()) + " (expected: " + e.getMessage() + ")";
                r.reportAt(item.value(), item.path(), message);
            }
        }
        return binds;
    }

    private String readPoolReference(ConfigReader r) {
        String pool = r.requiredString("pool", "the name of a pool under smtplb.pools");
        if (pool == null || poolNames.contains(pool)) {
            return pool;
        }

        String expected;
        Optional<String> suggestion = Spelling.closest(pool, poolNames);
        if (poolNames.isEmpty()) {
            expected = "a pool under smtplb.pools, which defines none";
        } else if (suggestion.isPresent()) {
            expected = "a pool under smtplb.pools; did you mean " + suggestion.get() + "?";
        } else {
            List<String> names = new ArrayList<>(poolNames);
            Collections.sort(names);
            expected = "one of the pools under smtplb.pools: " + String.join(", ", names);
        }
        r.report("pool", r.rawValue("pool"), "(expected: " + expected + ")");
        return pool;
    }

    /**
     * Rejects a public bind that every client may use: relays usually accept mail from smtplb's address for any
     * destination, so such a listener would be an open relay.
     */
    private void rejectOpenRelay(ConfigReader r, List<BindSite> binds, List<Cidr> allow) {
        boolean admitsAll = allow.stream().anyMatch(network -> network.prefixLength() == 0);
        if (!allow.isEmpty() && !admitsAll) {
            return;
        }

        String allowState = allow.isEmpty() ? "allow is empty" : "allow admits every address";
        for (BindSite site : binds) {
            if (!Addresses.isNonPublic(site.address().getAddress())) {
                r.reportAt(site.value(), site.path(), Addresses.format(site.address())
                        + " is reachable from public addresses and " + allowState
                        + " (expected: an allow list of client networks, or open-relay-ok = true): relays that "
                        + "trust smtplb's address would relay mail for anyone.");
            }
        }
    }
}
