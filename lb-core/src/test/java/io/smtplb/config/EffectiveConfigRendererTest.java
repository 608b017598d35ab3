package io.smtplb.config;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

class EffectiveConfigRendererTest {

    /** A file that sets every key to a value other than its default. */
    static final String FULL = """
            smtplb {
              hostname = lb1.example.com
              forwarding = copy
              event-loop-threads = 3
              listeners {
                submission {
                  bind = ["0.0.0.0:587", "[::]:588"]
                  pool = relays
                  allow = ["10.0.0.0/8", "fd00::/8"]
                  deny = ["10.9.0.0/16"]
                  deny-action = close
                  open-relay-ok = false
                  accept-proxy = on
                  trusted-proxies = ["10.0.0.5"]
                  accept-proxy-timeout = 2s
                  max-connections = 1000
                  max-connections-per-source = 20
                  max-connection-rate-per-source = 2.5
                  connection-rate-burst = 5
                }
              }
              pools {
                relays {
                  balance = weighted-round-robin
                  connect-timeout = 1500ms
                  connect-attempts = 2
                  greeting-failover = off
                  greeting-timeout = 20s
                  slow-start = 0s
                  send-proxy = v2
                  tcp-user-timeout = 0s
                  tcp-keepalive = 2m
                  health-check {
                    type = tcp
                    address = "10.0.0.99"
                    port = 10025
                    helo-name = probe.example.com
                    interval = 4s
                    transition-interval = 1500ms
                    down-interval = 10s
                    jitter = 0s
                    rise = 3
                    fall = 4
                    connect-timeout = 1s
                    greeting-timeout = 6s
                    step-timeout = 7s
                    timeout = 20s
                    starttls = on
                    tls-verify = require
                    tls-server-name = mx.example.com
                    tls-ca-file = ""
                    deep-check = on
                    deep-check-recipient = "probe@example.com"
                  }
                  backends = [
                    { name = mx1, address = "mx1.example.test:25", weight = 5, max-connections = 100 }
                    { name = mx2, address = "10.0.0.12:2525", send-proxy = v1 }
                    { name = mx3, address = "[fd00::13]:25", backup = true }
                  ]
                }
              }
              timeouts { idle = 12m, shutdown-drain = 5s }
              limits { max-connections = 5000, source-table-size = 2000 }
              admin { bind = "10.0.0.2:9525", token = "s3cret-token" }
              access-log { enabled = false, format = json, file = "/tmp/smtplb-access.log" }
            }
            """;

    private static Settings parse(String hocon) throws InvalidConfigException {
        return SettingsLoaderTest.parse(hocon);
    }

    @Test
    void renderedFullConfigParsesToEqualSettings() throws Exception {
        Settings settings = parse(FULL.replace("token = \"s3cret-token\"", "token = \"********\""));

        String rendered = SettingsLoader.renderEffective(settings);
        Settings again = parse(rendered);

        assertThat(again).isEqualTo(settings);
    }

    @Test
    void renderedMinimalConfigParsesToEqualSettings() throws Exception {
        Settings settings = parse(SettingsLoaderTest.MINIMAL);

        Settings again = parse(SettingsLoader.renderEffective(settings));

        assertThat(again).isEqualTo(settings);
    }

    @Test
    void renderingMasksTheAdminToken() throws Exception {
        String rendered = SettingsLoader.renderEffective(parse(FULL));

        assertThat(rendered).doesNotContain("s3cret-token");
        assertThat(rendered).contains("token = \"********\"  # masked");
    }

    @Test
    void renderingShowsDefaultsInsideEachEntry() throws Exception {
        String rendered = SettingsLoader.renderEffective(parse(SettingsLoaderTest.MINIMAL));

        assertThat(rendered).contains("""
                  pools {
                    relays {
                      balance = least-connections
                      connect-timeout = 3s
                """);
        assertThat(rendered).contains("      deep-check-recipient = \"postmaster\"\n");
        assertThat(rendered).contains("""
                      backends = [
                        {
                          name = "mx1"
                          address = "10.0.0.11:25"
                          weight = 1
                          max-connections = 0
                          backup = false
                          send-proxy = off
                        }
                      ]
                """);
        assertThat(rendered).doesNotContain("defaults {");
    }

    @Test
    void renderingNamesTheHostAnAddressCameFrom() throws Exception {
        String rendered = SettingsLoader.renderEffective(parse(FULL));

        assertThat(rendered).contains("address = \"10.0.0.11:25\"  # mx1.example.test");
        assertThat(rendered).contains("address = \"[fd00::13]:25\"\n");
    }

    @Test
    void durationsUseTheLargestExactUnit() {
        assertThat(EffectiveConfigRenderer.duration(Duration.ofMinutes(11))).isEqualTo("11m");
        assertThat(EffectiveConfigRenderer.duration(Duration.ofSeconds(90))).isEqualTo("90s");
        assertThat(EffectiveConfigRenderer.duration(Duration.ofMinutes(90))).isEqualTo("90m");
        assertThat(EffectiveConfigRenderer.duration(Duration.ofDays(2))).isEqualTo("2d");
        assertThat(EffectiveConfigRenderer.duration(Duration.ofMillis(500))).isEqualTo("500ms");
        assertThat(EffectiveConfigRenderer.duration(Duration.ofNanos(1500))).isEqualTo("1500ns");
        assertThat(EffectiveConfigRenderer.duration(Duration.ZERO)).isEqualTo("0s");
    }
}
