package io.smtplb.demo;

import io.netty.channel.EventLoopGroup;
import io.smtplb.SmtpLoadBalancer;
import io.smtplb.config.InvalidConfigException;
import io.smtplb.config.Settings;
import io.smtplb.config.SettingsLoader;
import io.smtplb.proxy.ListenerBindException;
import io.smtplb.proxy.SessionObserver;
import io.smtplb.proxy.Transport;

import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * {@code smtplb demo}: three demo relays on free loopback ports and a balancer in front of them on
 * 127.0.0.1:2525, so a new user can send mail through smtplb without any other software.
 */
public final class DemoCommand {

    static final int RELAYS = 3;
    static final String LISTEN = "127.0.0.1:2525";

    private DemoCommand() {
    }

    /** Runs the demo until the process is stopped; returns an exit status when it cannot start. */
    public static int run(String[] options, PrintStream out, PrintStream err) {
        Transport transport = Transport.detect();
        EventLoopGroup relayGroup = transport.newGroup(1, "demo-relay");
        List<DemoRelay> relays = new ArrayList<>();
        try {
            for (int i = 1; i <= RELAYS; i++) {
                relays.add(new DemoRelay("relay" + i, out).start(relayGroup, transport,
                        new InetSocketAddress("127.0.0.1", 0)));
            }
            Settings settings = SettingsLoader.parse(config(relays), "demo.conf");
            SmtpLoadBalancer balancer = SmtpLoadBalancer.start(settings, transport, SessionObserver.NONE);
            printWelcome(out, relays);
            awaitShutdown(balancer, relays, relayGroup, out);
            return 0;
        } catch (ListenerBindException e) {
            err.println("smtplb demo cannot start: " + e.getMessage()
                    + " (is another smtplb demo running? stop it first)");
        } catch (InvalidConfigException e) {
            err.println("smtplb demo: internal configuration is invalid: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        relays.forEach(DemoRelay::close);
        relayGroup.shutdownGracefully();
        return 1;
    }

    static String config(List<DemoRelay> relays) {
        StringBuilder backends = new StringBuilder();
        for (DemoRelay relay : relays) {
            InetSocketAddress address = relay.address();
            backends.append("        { name = ").append(relay.name()).append(", address = \"127.0.0.1:")
                    .append(address.getPort()).append("\" }\n");
        }
        return """
                smtplb {
                  hostname = "smtplb-demo"
                  listeners { demo { bind = "%s", pool = demo } }
                  pools {
                    demo {
                      balance = least-connections
                      backends = [
                %s      ]
                      health-check { interval = 2s, rise = 2, fall = 2 }
                    }
                  }
                  admin { bind = "127.0.0.1:9525" }
                }
                """.formatted(LISTEN, backends);
    }

    private static void printWelcome(PrintStream out, List<DemoRelay> relays) {
        out.println();
        out.println("smtplb demo is running: clients connect to " + LISTEN + ", spread over " + relays.size()
                + " demo relays:");
        for (DemoRelay relay : relays) {
            out.println("  " + relay.name() + " on 127.0.0.1:" + relay.address().getPort());
        }
        out.println();
        out.println("Send a message through it (swaks is in Debian's swaks package):");
        out.println("  swaks --server 127.0.0.1:2525 --from demo@example.test --to you@example.test");
        out.println("Send ten and watch them spread over the relays:");
        out.println("  for i in $(seq 10); do swaks -S --server 127.0.0.1:2525 --to you@example.test; done");
        out.println("Each relay prints a line for every message it accepts.");
        out.println("Status page: http://127.0.0.1:9525/   metrics: http://127.0.0.1:9525/metrics");
        out.println("Stop the demo with Ctrl-C.");
        out.println();
    }

    private static void awaitShutdown(SmtpLoadBalancer balancer, List<DemoRelay> relays, EventLoopGroup group,
                                      PrintStream out) throws InterruptedException {
        CountDownLatch stopped = new CountDownLatch(1);
        Runnable stop = () -> {
            balancer.shutdown(java.time.Duration.ofSeconds(2));
            relays.forEach(DemoRelay::close);
            group.shutdownGracefully();
            out.println("smtplb demo stopped");
            stopped.countDown();
        };
        io.smtplb.Main.stopOnSignals(stop);
        stopped.await();
    }
}
