package io.smtplb.config;

import io.smtplb.config.ListenerSettings.DenyAction;
import io.smtplb.config.PoolSettings.BalanceAlgorithm;
import io.smtplb.config.Settings.AccessLogFormat;
import io.smtplb.config.Settings.ForwardingMode;
import io.smtplb.health.HealthCheckSettings;
import io.smtplb.health.HealthCheckSettings.CheckType;
import io.smtplb.health.HealthCheckSettings.ProxyHeader;
import io.smtplb.health.HealthCheckSettings.TlsVerify;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class SettingsLoaderTest {

    /** The smallest useful file: one loopback listener, one pool, one backend. */
    static final String MINIMAL = """
            smtplb {
              listeners.smtp { bind = "127.0.0.1:2525", pool = relays }
              pools.relays.backends = [ { name = mx1, address = "10.0.0.11:25" } ]
            }
            """;

    static Settings parse(String hocon) throws InvalidConfigException {
        return SettingsLoader.parse(hocon, "smtplb.conf", FakeResolver.standard());
    }

    @Test
    void minimalFileGetsTopLevelDefaults() throws Exception {
        Settings settings = parse(MINIMAL);

        assertThat(settings.source()).isNull();
        assertThat(settings.hostname()).isEqualTo(FakeResolver.LOCAL_HOST_NAME);
        assertThat(settings.forwarding()).isEqualTo(ForwardingMode.SPLICE);
        assertThat(settings.eventLoopThreads()).isEqualTo(Runtime.getRuntime().availableProcessors());
        assertThat(settings.timeouts().idle()).isEqualTo(Duration.ofMinutes(11));
        assertThat(settings.timeouts().shutdownDrain()).isEqualTo(Duration.ofSeconds(30));
        assertThat(settings.limits().maxConnections()).isZero();
        assertThat(settings.limits().sourceTableSize()).isEqualTo(100_000);
        assertThat(settings.admin().bind()).isEqualTo(new InetSocketAddress("127.0.0.1", 9525));
        assertThat(settings.admin().token()).isNull();
        assertThat(settings.accessLog().enabled()).isTrue();
        assertThat(settings.accessLog().format()).isEqualTo(AccessLogFormat.LOGFMT);
        assertThat(settings.accessLog().file()).isNull();
    }

    @Test
    void minimalListenerGetsListenerDefaults() throws Exception {
        ListenerSettings listener = parse(MINIMAL).listeners().get("smtp");

        assertThat(listener.name()).isEqualTo("smtp");
        assertThat(listener.binds()).containsExactly(new InetSocketAddress("127.0.0.1", 2525));
        assertThat(listener.pool()).isEqualTo("relays");
        assertThat(listener.allow()).isEmpty();
        assertThat(listener.deny()).isEmpty();
        assertThat(listener.denyAction()).isEqualTo(DenyAction.REPLY);
        assertThat(listener.openRelayOk()).isFalse();
        assertThat(listener.acceptProxy()).isFalse();
        assertThat(listener.trustedProxies()).isEmpty();
        assertThat(listener.acceptProxyTimeout()).isEqualTo(Duration.ofSeconds(3));
        assertThat(listener.maxConnections()).isZero();
        assertThat(listener.maxConnectionsPerSource()).isZero();
        assertThat(listener.maxConnectionRatePerSource()).isZero();
        assertThat(listener.connectionRateBurst()).isEqualTo(10);
    }

    @Test
    void minimalPoolGetsPoolAndBackendDefaults() throws Exception {
        PoolSettings pool = parse(MINIMAL).pools().get("relays");

        assertThat(pool.name()).isEqualTo("relays");
        assertThat(pool.balance()).isEqualTo(BalanceAlgorithm.LEAST_CONNECTIONS);
        assertThat(pool.connectTimeout()).isEqualTo(Duration.ofSeconds(3));
        assertThat(pool.connectAttempts()).isEqualTo(3);
        assertThat(pool.greetingFailover()).isTrue();
        assertThat(pool.greetingTimeout()).isEqualTo(Duration.ofSeconds(15));
        assertThat(pool.slowStart()).isEqualTo(Duration.ofSeconds(30));
        assertThat(pool.sendProxy()).isEqualTo(ProxyHeader.OFF);
        assertThat(pool.tcpUserTimeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(pool.tcpKeepalive()).isEqualTo(Duration.ofSeconds(60));
        assertThat(pool.backends()).containsExactly(new BackendSettings("mx1",
                new InetSocketAddress("10.0.0.11", 25), 1, 0, false, ProxyHeader.OFF));
    }

    @Test
    void minimalPoolGetsHealthCheckDefaults() throws Exception {
        HealthCheckSettings check = parse(MINIMAL).pools().get("relays").healthCheck();

        HealthCheckSettings expected = new HealthCheckSettings(CheckType.SMTP, null, 0, FakeResolver.LOCAL_HOST_NAME,
                Duration.ofSeconds(2), Duration.ofSeconds(1), Duration.ofSeconds(5), Duration.ofMillis(500), 2, 3,
                Duration.ofSeconds(3), Duration.ofSeconds(10), Duration.ofSeconds(10), Duration.ofSeconds(30), false,
                TlsVerify.WARN, null, null, false, "postmaster", ProxyHeader.OFF);
        assertThat(check).isEqualTo(expected);
    }

    @Test
    void everyKeySetInEntriesIsRead() throws Exception {
        Settings settings = parse(EffectiveConfigRendererTest.FULL);

        assertThat(settings.hostname()).isEqualTo("lb1.example.com");
        assertThat(settings.forwarding()).isEqualTo(ForwardingMode.COPY);
        assertThat(settings.eventLoopThreads()).isEqualTo(3);
        assertThat(settings.timeouts())
                .isEqualTo(new Settings.TimeoutSettings(Duration.ofMinutes(12), Duration.ofSeconds(5)));
        assertThat(settings.limits()).isEqualTo(new Settings.LimitSettings(5000, 2000));
        assertThat(settings.admin().bind()).isEqualTo(new InetSocketAddress("10.0.0.2", 9525));
        assertThat(settings.admin().token()).isEqualTo("s3cret-token");
        assertThat(settings.accessLog()).isEqualTo(
                new Settings.AccessLogSettings(false, AccessLogFormat.JSON, Path.of("/tmp/smtplb-access.log")));

        ListenerSettings listener = settings.listeners().get("submission");
        assertThat(listener.binds()).containsExactly(new InetSocketAddress("0.0.0.0", 587),
                new InetSocketAddress(InetAddress.getByName("::"), 587 + 1));
        assertThat(listener.allow()).containsExactly(Cidr.parse("10.0.0.0/8"), Cidr.parse("fd00::/8"));
        assertThat(listener.deny()).containsExactly(Cidr.parse("10.9.0.0/16"));
        assertThat(listener.denyAction()).isEqualTo(DenyAction.CLOSE);
        assertThat(listener.openRelayOk()).isFalse();
        assertThat(listener.acceptProxy()).isTrue();
        assertThat(listener.trustedProxies()).containsExactly(Cidr.parse("10.0.0.5"));
        assertThat(listener.acceptProxyTimeout()).isEqualTo(Duration.ofSeconds(2));
        assertThat(listener.maxConnections()).isEqualTo(1000);
        assertThat(listener.maxConnectionsPerSource()).isEqualTo(20);
        assertThat(listener.maxConnectionRatePerSource()).isEqualTo(2.5);
        assertThat(listener.connectionRateBurst()).isEqualTo(5);

        PoolSettings pool = settings.pools().get("relays");
        assertThat(pool.balance()).isEqualTo(BalanceAlgorithm.WEIGHTED_ROUND_ROBIN);
        assertThat(pool.connectTimeout()).isEqualTo(Duration.ofMillis(1500));
        assertThat(pool.connectAttempts()).isEqualTo(2);
        assertThat(pool.greetingFailover()).isFalse();
        assertThat(pool.greetingTimeout()).isEqualTo(Duration.ofSeconds(20));
        assertThat(pool.slowStart()).isEqualTo(Duration.ZERO);
        assertThat(pool.sendProxy()).isEqualTo(ProxyHeader.V2);
        assertThat(pool.tcpUserTimeout()).isEqualTo(Duration.ZERO);
        assertThat(pool.tcpKeepalive()).isEqualTo(Duration.ofSeconds(120));
        assertThat(pool.backends()).containsExactly(
                new BackendSettings("mx1", new InetSocketAddress("10.0.0.11", 25), 5, 100, false, ProxyHeader.V2),
                new BackendSettings("mx2", new InetSocketAddress("10.0.0.12", 2525), 1, 0, false, ProxyHeader.V1),
                new BackendSettings("mx3", new InetSocketAddress(InetAddress.getByName("fd00::13"), 25), 1, 0, true,
                        ProxyHeader.V2));

        HealthCheckSettings check = pool.healthCheck();
        HealthCheckSettings expected = new HealthCheckSettings(CheckType.TCP, "10.0.0.99", 10025, "probe.example.com",
                Duration.ofSeconds(4), Duration.ofMillis(1500), Duration.ofSeconds(10), Duration.ZERO, 3, 4,
                Duration.ofSeconds(1), Duration.ofSeconds(6), Duration.ofSeconds(7), Duration.ofSeconds(20), true,
                TlsVerify.REQUIRE, "mx.example.com", null, true, "probe@example.com", ProxyHeader.V2);
        assertThat(check).isEqualTo(expected);
    }

    @Test
    void defaultsApplyToEntriesWithoutOwnValue() throws Exception {
        Settings settings = parse("""
                smtplb {
                  defaults {
                    listener { allow = ["192.168.0.0/16"], max-connections = 50 }
                    pool { connect-timeout = 5s, health-check.rise = 4 }
                    backend { weight = 7 }
                  }
                  listeners {
                    a { bind = "0.0.0.0:2525", pool = one }
                    b { bind = "0.0.0.0:2526", pool = two, max-connections = 60 }
                  }
                  pools {
                    one.backends = [ { name = mx1, address = "10.0.0.11:25" } ]
                    two {
                      connect-timeout = 1s
                      health-check.rise = 1
                      backends = [ { name = mx2, address = "10.0.0.12:25", weight = 2 } ]
                    }
                  }
                }
                """);

        assertThat(settings.listeners().get("a").allow()).containsExactly(Cidr.parse("192.168.0.0/16"));
        assertThat(settings.listeners().get("b").allow()).containsExactly(Cidr.parse("192.168.0.0/16"));
        assertThat(settings.listeners().get("a").maxConnections()).isEqualTo(50);
        assertThat(settings.listeners().get("b").maxConnections()).isEqualTo(60);
        assertThat(settings.pools().get("one").connectTimeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(settings.pools().get("two").connectTimeout()).isEqualTo(Duration.ofSeconds(1));
        assertThat(settings.pools().get("one").healthCheck().rise()).isEqualTo(4);
        assertThat(settings.pools().get("two").healthCheck().rise()).isEqualTo(1);
        assertThat(settings.pools().get("one").healthCheck().fall()).isEqualTo(3);
        assertThat(settings.pools().get("one").backends().get(0).weight()).isEqualTo(7);
        assertThat(settings.pools().get("two").backends().get(0).weight()).isEqualTo(2);
    }

    @Test
    void backendInheritsPoolSendProxy() throws Exception {
        Settings settings = parse("""
                smtplb {
                  listeners.smtp { bind = "127.0.0.1:2525", pool = relays }
                  pools.relays {
                    send-proxy = v1
                    backends = [
                      { name = mx1, address = "10.0.0.11:25" }
                      { name = mx2, address = "10.0.0.12:25", send-proxy = off }
                    ]
                  }
                }
                """);

        PoolSettings pool = settings.pools().get("relays");
        assertThat(pool.backends().get(0).sendProxy()).isEqualTo(ProxyHeader.V1);
        assertThat(pool.backends().get(1).sendProxy()).isEqualTo(ProxyHeader.OFF);
        assertThat(pool.healthCheck().proxyHeader()).isEqualTo(ProxyHeader.V1);
    }

    @Test
    void ipv6BindsParse() throws Exception {
        Settings settings = parse("""
                smtplb {
                  listeners {
                    loop { bind = "[::1]:2525", pool = relays }
                    ula { bind = ["[fd00::1]:25", "[fd00::2]:25"], pool = relays }
                    any { bind = "[::]:587", pool = relays, allow = ["2001:db8::/32", "10.0.0.0/8"] }
                  }
                  pools.relays {
                    health-check.address = "[2001:db8::99]"
                    backends = [ { name = mx1, address = "[2001:db8::25]:25" } ]
                  }
                }
                """);

        assertThat(settings.listeners().get("loop").binds())
                .containsExactly(new InetSocketAddress(InetAddress.getByName("::1"), 2525));
        assertThat(settings.listeners().get("ula").binds()).containsExactly(
                new InetSocketAddress(InetAddress.getByName("fd00::1"), 25),
                new InetSocketAddress(InetAddress.getByName("fd00::2"), 25));
        assertThat(settings.listeners().get("any").binds())
                .containsExactly(new InetSocketAddress(InetAddress.getByName("::"), 587));
        assertThat(settings.pools().get("relays").backends().get(0).address())
                .isEqualTo(new InetSocketAddress(InetAddress.getByName("2001:db8::25"), 25));
        assertThat(settings.pools().get("relays").healthCheck().address()).isEqualTo("2001:db8::99");
    }

    @Test
    void backendHostNamesAreResolvedAtLoad() throws Exception {
        Settings settings = parse("""
                smtplb {
                  listeners.smtp { bind = "localhost:2525", pool = relays }
                  pools.relays.backends = [ { name = mx1, address = "mx1.example.test:25" } ]
                }
                """);

        InetSocketAddress address = settings.pools().get("relays").backends().get(0).address();
        assertThat(address.isUnresolved()).isFalse();
        assertThat(address.getAddress().getHostAddress()).isEqualTo("10.0.0.11");
        assertThat(settings.listeners().get("smtp").binds().get(0).getAddress().getHostAddress())
                .isEqualTo("127.0.0.1");
    }

    @Test
    void emptyStringsBecomeResolvedNamesOrNull() throws Exception {
        Settings settings = parse("""
                smtplb {
                  hostname = ""
                  admin { bind = "", token = "" }
                  listeners.smtp { bind = "127.0.0.1:2525", pool = relays }
                  pools.relays {
                    health-check { helo-name = "", address = "", tls-server-name = "", tls-ca-file = "" }
                    backends = [ { name = mx1, address = "10.0.0.11:25" } ]
                  }
                }
                """);

        assertThat(settings.hostname()).isEqualTo(FakeResolver.LOCAL_HOST_NAME);
        assertThat(settings.admin().bind()).isNull();
        assertThat(settings.admin().token()).isNull();
        HealthCheckSettings check = settings.pools().get("relays").healthCheck();
        assertThat(check.heloName()).isEqualTo(FakeResolver.LOCAL_HOST_NAME);
        assertThat(check.address()).isNull();
        assertThat(check.tlsServerName()).isNull();
        assertThat(check.tlsCaFile()).isNull();
    }

    @Test
    void listenersAndPoolsKeepFileOrder() throws Exception {
        Settings settings = parse("""
                smtplb {
                  pools {
                    zeta.backends = [ { name = a, address = "10.0.0.11:25" } ]
                    alpha.backends = [ { name = a, address = "10.0.0.12:25" } ]
                    mid.backends = [ { name = a, address = "10.0.0.13:25" } ]
                  }
                  listeners {
                    z { bind = "127.0.0.1:2601", pool = zeta }
                    a { bind = "127.0.0.1:2602", pool = alpha }
                    m { bind = "127.0.0.1:2603", pool = mid }
                  }
                }
                """);

        assertThat(settings.pools().keySet()).containsExactly("zeta", "alpha", "mid");
        assertThat(settings.listeners().keySet()).containsExactly("z", "a", "m");
    }

    @Test
    void booleansAcceptOnOffTrueFalseYesNo() throws Exception {
        Settings settings = parse("""
                smtplb {
                  listeners.smtp { bind = "127.0.0.1:2525", pool = relays, open-relay-ok = yes }
                  pools.relays {
                    greeting-failover = false
                    health-check.starttls = on
                    backends = [ { name = mx1, address = "10.0.0.11:25", backup = true } ]
                  }
                }
                """);

        assertThat(settings.listeners().get("smtp").openRelayOk()).isTrue();
        assertThat(settings.pools().get("relays").greetingFailover()).isFalse();
        assertThat(settings.pools().get("relays").healthCheck().starttls()).isTrue();
        assertThat(settings.pools().get("relays").backends().get(0).backup()).isTrue();
    }

    @Test
    void loadResolvesRelativeFilesAgainstTheConfigDirectory(@TempDir Path directory) throws Exception {
        Files.writeString(directory.resolve("ca.pem"), "not checked for content here\n");
        Path file = directory.resolve("smtplb.conf");
        Files.writeString(file, """
                smtplb {
                  access-log.file = "access.log"
                  listeners.smtp { bind = "127.0.0.1:2525", pool = relays }
                  pools.relays {
                    health-check.tls-ca-file = "ca.pem"
                    backends = [ { name = mx1, address = "10.0.0.11:25" } ]
                  }
                }
                """);

        Settings settings = SettingsLoader.load(file, FakeResolver.standard());

        assertThat(settings.source()).isEqualTo(file);
        assertThat(settings.accessLog().file()).isEqualTo(directory.resolve("access.log"));
        assertThat(settings.pools().get("relays").healthCheck().tlsCaFile()).isEqualTo(directory.resolve("ca.pem"));
    }

    @Test
    void singleBindStringAndListAreEquivalent() throws Exception {
        Settings single = parse(MINIMAL);
        Settings list = parse(MINIMAL.replace("bind = \"127.0.0.1:2525\"", "bind = [\"127.0.0.1:2525\"]"));

        assertThat(list.listeners()).isEqualTo(single.listeners());
    }

    @Test
    void portZeroBindsAreAllowedForTests() throws Exception {
        Settings settings = parse("""
                smtplb {
                  admin.bind = "127.0.0.1:0"
                  listeners {
                    a { bind = "127.0.0.1:0", pool = relays }
                    b { bind = "127.0.0.1:0", pool = relays }
                  }
                  pools.relays.backends = [ { name = mx1, address = "10.0.0.11:25" } ]
                }
                """);

        assertThat(settings.listeners().get("a").binds()).containsExactly(new InetSocketAddress("127.0.0.1", 0));
        assertThat(settings.admin().bind()).isEqualTo(new InetSocketAddress("127.0.0.1", 0));
    }

    @Test
    void settingsMapsAreImmutable() throws Exception {
        Settings settings = parse(MINIMAL);

        List<Runnable> mutations = List.of(
                () -> settings.listeners().clear(),
                () -> settings.pools().clear(),
                () -> settings.listeners().get("smtp").binds().clear(),
                () -> settings.pools().get("relays").backends().clear());
        for (Runnable mutation : mutations) {
            org.assertj.core.api.Assertions.assertThatThrownBy(mutation::run)
                    .isInstanceOf(UnsupportedOperationException.class);
        }
    }
}
