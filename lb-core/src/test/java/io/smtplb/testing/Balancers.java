package io.smtplb.testing;

import io.smtplb.SmtpLoadBalancer;
import io.smtplb.config.InvalidConfigException;
import io.smtplb.config.Settings;
import io.smtplb.config.SettingsLoader;
import io.smtplb.proxy.SessionObserver;
import io.smtplb.proxy.Transport;

import java.net.InetSocketAddress;
import java.util.List;

/** Starts balancers for tests, on every transport and forwarding mode the platform has. */
public final class Balancers {

    private Balancers() {
    }

    /** A transport and forwarding mode: socket behaviours are tested once and run on each. */
    public enum Mode {
        EPOLL_SPLICE("splice"),
        EPOLL_COPY("copy"),
        NIO_COPY("copy");

        private final String forwarding;

        Mode(String forwarding) {
            this.forwarding = forwarding;
        }

        public Transport transport() {
            return this == NIO_COPY ? Transport.nio() : Transport.epoll();
        }

        public String forwarding() {
            return forwarding;
        }
    }

    /**
     * Starts a balancer with one listener {@code test} on a free loopback port in front of one pool
     * {@code relays}; {@code poolBody} is inserted in the pool's braces and must define its backends.
     */
    public static SmtpLoadBalancer start(Mode mode, String poolBody, String extra) throws InvalidConfigException {
        return start(mode, poolBody, extra, SessionObserver.NONE);
    }

    /** Like {@link #start(Mode, String, String)}, with an observer of session events. */
    public static SmtpLoadBalancer start(Mode mode, String poolBody, String extra, SessionObserver observer)
            throws InvalidConfigException {
        String hocon = """
                smtplb {
                  hostname = "lb.test"
                  forwarding = %s
                  event-loop-threads = 2
                  listeners { test { bind = "127.0.0.1:0", pool = relays } }
                  pools { relays { %s } }
                  admin { bind = "" }
                  access-log { enabled = false }
                  %s
                }
                """.formatted(mode.forwarding(), poolBody, extra);
        Settings settings = SettingsLoader.parse(hocon, "test.conf");
        return SmtpLoadBalancer.start(settings, mode.transport(), observer);
    }

    /** Returns the backends list for relays on loopback ports, named r1, r2, ... */
    public static String backends(List<Integer> ports) {
        StringBuilder list = new StringBuilder("backends = [");
        for (int i = 0; i < ports.size(); i++) {
            // Objects side by side on one line without a comma would be merged into one by HOCON.
            list.append(i == 0 ? " " : ", ").append("{ name = r").append(i + 1).append(", address = \"127.0.0.1:").append(ports.get(i))
                    .append("\" }");
        }
        return list.append(" ]").toString();
    }

    /** Returns the address the test listener is bound to. */
    public static InetSocketAddress listener(SmtpLoadBalancer balancer) {
        return balancer.proxy().boundAddresses("test").get(0);
    }
}
