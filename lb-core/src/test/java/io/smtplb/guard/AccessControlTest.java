package io.smtplb.guard;

import io.smtplb.SmtpLoadBalancer;
import io.smtplb.proxy.CloseReason;
import io.smtplb.proxy.SessionRecord;
import io.smtplb.testing.Balancers.Mode;
import io.smtplb.testing.Streams;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.InputStream;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** Who may connect: allow and deny lists on real sockets, from several loopback source addresses. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AccessControlTest {

    private static final String DENIED_554 = "554 5.7.1 lb.test Access denied";

    @ParameterizedTest
    @EnumSource(Mode.class)
    void deniedClientGets554AndNoRelayConnection(Mode mode) throws Exception {
        GuardTesting.Records records = new GuardTesting.Records();
        try (HeaderRelay relay = new HeaderRelay("127.0.0.1", false);
             SmtpLoadBalancer balancer = GuardTesting.start(mode,
                     "bind = \"127.0.0.1:0\", pool = relays, allow = [\"127.0.0.0/8\"], deny = [\"127.0.0.9/32\"]",
                     GuardTesting.pool(relay.address(), ""), "", records);
             Socket client = GuardTesting.connectFrom("127.0.0.9", GuardTesting.listener(balancer))) {
            InputStream in = client.getInputStream();

            assertThat(Streams.readLine(in)).isEqualTo(DENIED_554);
            // A clean close reads as end of stream; a reset would throw here.
            assertThat(in.read()).isEqualTo(-1);

            List<SessionRecord> closed = records.await(1);
            assertThat(closed.get(0).reason()).isEqualTo(CloseReason.DENIED);
            assertThat(closed.get(0).client().getAddress().getHostAddress()).isEqualTo("127.0.0.9");
            assertThat(closed.get(0).backend()).isNull();
            assertThat(relay.accepted()).isZero();
        }
    }

    @Test
    void longestMatchDecidesPerClient() throws Exception {
        GuardTesting.Records records = new GuardTesting.Records();
        try (HeaderRelay relay = new HeaderRelay("127.0.0.1", false);
             SmtpLoadBalancer balancer = GuardTesting.start(Mode.EPOLL_SPLICE,
                     "bind = \"127.0.0.1:0\", pool = relays, allow = [\"127.0.0.0/8\", \"127.0.5.5/32\"],"
                             + " deny = [\"127.0.5.0/24\"]",
                     GuardTesting.pool(relay.address(), ""), "", records)) {
            assertThat(firstLine(balancer, "127.0.4.1")).isEqualTo("220 relay.test ESMTP");
            assertThat(firstLine(balancer, "127.0.5.1")).isEqualTo(DENIED_554);
            assertThat(firstLine(balancer, "127.0.5.5")).isEqualTo("220 relay.test ESMTP");

            records.await(3);
            assertThat(records.count(CloseReason.DENIED)).isEqualTo(1);
            assertThat(relay.accepted()).isEqualTo(2);
        }
    }

    @Test
    void denyActionCloseSendsNothing() throws Exception {
        GuardTesting.Records records = new GuardTesting.Records();
        try (HeaderRelay relay = new HeaderRelay("127.0.0.1", false);
             SmtpLoadBalancer balancer = GuardTesting.start(Mode.EPOLL_SPLICE,
                     "bind = \"127.0.0.1:0\", pool = relays, deny = [\"127.0.0.0/8\"], deny-action = close",
                     GuardTesting.pool(relay.address(), ""), "", records);
             Socket client = GuardTesting.connectFrom("127.0.0.2", GuardTesting.listener(balancer))) {

            assertThat(client.getInputStream().read()).isEqualTo(-1);

            assertThat(records.await(1).get(0).reason()).isEqualTo(CloseReason.DENIED);
            assertThat(relay.accepted()).isZero();
        }
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void ipv6ClientMatchesIpv6Rules(Mode mode) throws Exception {
        Assumptions.assumeTrue(GuardTesting.hasIpv6Loopback(), "::1 is not configured on lo; IPv6 case skipped");
        GuardTesting.Records records = new GuardTesting.Records();
        try (HeaderRelay relay = new HeaderRelay("::1", false);
             SmtpLoadBalancer balancer = GuardTesting.start(mode,
                     "bind = \"[::1]:0\", pool = relays, allow = [\"127.0.0.0/8\"]",
                     GuardTesting.pool(relay.address(), ""), "", records);
             Socket client = GuardTesting.connectFrom("::1", GuardTesting.listener(balancer))) {

            assertThat(Streams.readLine(client.getInputStream())).isEqualTo(DENIED_554);

            assertThat(records.await(1).get(0).reason()).isEqualTo(CloseReason.DENIED);
        }
    }

    private static String firstLine(SmtpLoadBalancer balancer, String from) throws Exception {
        try (Socket client = GuardTesting.connectFrom(from, GuardTesting.listener(balancer))) {
            return Streams.readLine(client.getInputStream());
        }
    }
}
