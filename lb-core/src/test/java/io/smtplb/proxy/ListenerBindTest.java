package io.smtplb.proxy;

import io.smtplb.SmtpLoadBalancer;
import io.smtplb.testing.Balancers;
import io.smtplb.testing.Balancers.Mode;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.ServerSocketChannel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ListenerBindTest {

    /**
     * Postfix's smtpd and smtp-sink set SO_REUSEPORT on their listening sockets. Without a check, smtplb's own
     * SO_REUSEPORT sockets would join them on the same port and the kernel would hand part of the clients
     * to the other program.
     */
    @Test
    void portHeldWithReusePortIsReported() throws Exception {
        try (ServerSocketChannel other = ServerSocketChannel.open()) {
            other.setOption(StandardSocketOptions.SO_REUSEPORT, true);
            other.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            int port = ((InetSocketAddress) other.getLocalAddress()).getPort();
            String pool = Balancers.backends(java.util.List.of(SessionBehaviourTest.unusedPort()))
                    + ", health-check { type = none }";
            String hocon = "listeners { test { bind = \"127.0.0.1:" + port + "\", pool = relays } }";

            assertThatThrownBy(() -> startOnPort(pool, hocon))
                    .isInstanceOf(ListenerBindException.class)
                    .hasMessageContaining("listener test: cannot bind 127.0.0.1:" + port)
                    .hasMessageContaining("another program listens on it");
        }
    }

    @Test
    void freePortBindsOnEveryLoop() throws Exception {
        String pool = Balancers.backends(java.util.List.of(SessionBehaviourTest.unusedPort()))
                + ", health-check { type = none }";
        try (SmtpLoadBalancer balancer = Balancers.start(Mode.EPOLL_COPY, pool, "")) {
            assertThat(balancer.proxy().isBound("test")).isTrue();
            assertThat(Balancers.listener(balancer).getPort()).isPositive();
        }
    }

    private static void startOnPort(String pool, String listeners) throws Exception {
        // The test listener of Balancers binds port 0; this one overrides it with a fixed port.
        try (SmtpLoadBalancer ignored = Balancers.start(Mode.EPOLL_COPY, pool, listeners)) {
            throw new AssertionError("smtplb bound a port that another socket holds");
        }
    }
}
