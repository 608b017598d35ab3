package io.smtplb.guard;

import io.smtplb.SmtpLoadBalancer;
import io.smtplb.config.InvalidConfigException;
import io.smtplb.config.Settings;
import io.smtplb.config.SettingsLoader;
import io.smtplb.proxy.CloseReason;
import io.smtplb.proxy.SessionObserver;
import io.smtplb.proxy.SessionRecord;
import io.smtplb.testing.Balancers.Mode;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/** Starts balancers with a chosen listener and pool, connects clients from chosen loopback addresses. */
final class GuardTesting {

    private GuardTesting() {
    }

    /**
     * Starts a balancer with one listener {@code test} and one pool {@code relays}; the bodies go inside the
     * braces of each, {@code extra} inside {@code smtplb}.
     */
    static SmtpLoadBalancer start(Mode mode, String listenerBody, String poolBody, String extra,
                                  SessionObserver observer) throws InvalidConfigException {
        String hocon = """
                smtplb {
                  hostname = "lb.test"
                  forwarding = %s
                  event-loop-threads = 2
                  listeners { test { %s } }
                  pools { relays { %s } }
                  admin { bind = "" }
                  access-log { enabled = false }
                  %s
                }
                """.formatted(mode.forwarding(), listenerBody, poolBody, extra);
        Settings settings = SettingsLoader.parse(hocon, "test.conf");
        return SmtpLoadBalancer.start(settings, mode.transport(), observer);
    }

    /** Returns a pool body with one relay and no active health check, so that only clients reach the relay. */
    static String pool(InetSocketAddress relay, String extra) {
        return "health-check { type = none }, " + extra + " backends = [ { name = r1, address = \""
                + hostPort(relay) + "\" } ]";
    }

    static String hostPort(InetSocketAddress address) {
        String host = address.getAddress().getHostAddress();
        return host.indexOf(':') >= 0 ? "[" + host + "]:" + address.getPort() : host + ":" + address.getPort();
    }

    /** Returns the address the test listener is bound to. */
    static InetSocketAddress listener(SmtpLoadBalancer balancer) {
        return balancer.proxy().boundAddresses("test").get(0);
    }

    /** Connects from {@code localHost} (a loopback address such as 127.0.0.2) with a 10 s read timeout. */
    static Socket connectFrom(String localHost, InetSocketAddress target) throws IOException {
        Socket socket = new Socket();
        socket.bind(new InetSocketAddress(InetAddress.getByName(localHost), 0));
        socket.setSoTimeout(10_000);
        socket.connect(target, 5_000);
        return socket;
    }

    /** Returns whether ::1 is configured on an interface, which IPv6 tests need. */
    static boolean hasIpv6Loopback() {
        try {
            NetworkInterface lo = NetworkInterface.getByInetAddress(InetAddress.getByName("::1"));
            return lo != null;
        } catch (IOException e) {
            return false;
        }
    }

    /** Polls {@code condition} every 10 ms until it is true or {@code timeoutMillis} pass. */
    static void await(String what, long timeoutMillis, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail(what + ": not reached within " + timeoutMillis + " ms");
            }
            Thread.sleep(10);
        }
    }

    /** Collects the record of every finished session. */
    static final class Records implements SessionObserver {
        final List<SessionRecord> closed = new CopyOnWriteArrayList<>();

        @Override
        public void onClosed(SessionRecord session) {
            closed.add(session);
        }

        long count(CloseReason reason) {
            return closed.stream().filter(r -> r.reason() == reason).count();
        }

        /** Waits until {@code expected} sessions have ended and returns their records. */
        List<SessionRecord> await(int expected) throws InterruptedException {
            GuardTesting.await(expected + " session records", 15_000, () -> closed.size() >= expected);
            assertThat(closed).hasSize(expected);
            return List.copyOf(closed);
        }
    }
}
