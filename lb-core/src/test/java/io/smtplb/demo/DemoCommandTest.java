package io.smtplb.demo;

import io.netty.channel.EventLoopGroup;
import io.smtplb.SmtpLoadBalancer;
import io.smtplb.config.Settings;
import io.smtplb.config.SettingsLoader;
import io.smtplb.proxy.SessionObserver;
import io.smtplb.proxy.Transport;
import io.smtplb.testing.SmtpTestClient;
import io.smtplb.testing.SmtpTestClient.Outcome;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class DemoCommandTest {

    @Test
    void demoSetupSpreadsMailOverThreeRelays() throws Exception {
        ByteArrayOutputStream output = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(output, true, StandardCharsets.UTF_8);
        Transport transport = Transport.detect();
        EventLoopGroup group = transport.newGroup(1, "demo-test");
        List<DemoRelay> relays = new ArrayList<>();
        try {
            for (int i = 1; i <= DemoCommand.RELAYS; i++) {
                relays.add(new DemoRelay("relay" + i, out).start(group, transport,
                        new InetSocketAddress("127.0.0.1", 0)));
            }
            // The demo's own configuration, with the listener moved to a free port.
            String hocon = DemoCommand.config(relays).replace(DemoCommand.LISTEN, "127.0.0.1:0")
                    .replace("\"127.0.0.1:9525\"", "\"\"");
            Settings settings = SettingsLoader.parse(hocon, "demo.conf");
            try (SmtpLoadBalancer balancer = SmtpLoadBalancer.start(settings, transport, SessionObserver.NONE)) {
                InetSocketAddress listener = balancer.proxy().boundAddresses("demo").get(0);
                for (int i = 0; i < 9; i++) {
                    assertThat(SmtpTestClient.send(listener, "demo " + i)).isEqualTo(Outcome.DELIVERED);
                }
            }
        } finally {
            relays.forEach(DemoRelay::close);
            group.shutdownGracefully().syncUninterruptibly();
        }

        for (DemoRelay relay : relays) {
            assertThat(relay.messages()).as(relay.name()).isEqualTo(3);
        }
        assertThat(output.toString(StandardCharsets.UTF_8))
                .contains("relay2: received message 3 from <load@devices.test>");
    }
}
