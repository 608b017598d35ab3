package io.smtplb.health;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.InetSocketAddress;

import org.junit.jupiter.api.Test;

class HealthChangeTest {

    private static final BackendRef MX2 = new BackendRef("relays", "mx2");

    @Test
    void describesActiveFailure() throws Exception {
        HealthChange change = new HealthChange(MX2, address("10.0.0.12", 25), HealthState.UP, HealthState.DOWN,
                FailureReason.GREETING_4XX, "greeting was \"421 4.3.2 busy\"", "fall 3/3", false);

        assertThat(change.describe())
                .isEqualTo("backend relays/mx2 (10.0.0.12:25) is DOWN: greeting was \"421 4.3.2 busy\" (fall 3/3)");
    }

    @Test
    void describesPassiveFailure() throws Exception {
        HealthChange change = new HealthChange(MX2, address("10.0.0.12", 25), HealthState.UP, HealthState.DOWN,
                FailureReason.CONNECT_REFUSED, "Connection refused", "fall 3/3", true);

        assertThat(change.describe()).isEqualTo(
                "backend relays/mx2 (10.0.0.12:25) is DOWN: Connection refused (fall 3/3, seen on client sessions)");
    }

    @Test
    void describesRecoveryWithIpv6Address() throws Exception {
        HealthChange change = new HealthChange(MX2, address("2001:db8::c", 2525), HealthState.DOWN, HealthState.UP,
                null, null, "rise 2/2", false);

        assertThat(change.describe()).isEqualTo("backend relays/mx2 ([2001:db8::c]:2525) is UP (rise 2/2)");
    }

    @Test
    void fallsBackToReasonLabelWithoutDetail() throws Exception {
        HealthChange change = new HealthChange(MX2, address("10.0.0.12", 25), HealthState.UP, HealthState.DOWN,
                FailureReason.CHECK_TIMEOUT, null, "fall 3/3", false);

        assertThat(change.describe()).isEqualTo("backend relays/mx2 (10.0.0.12:25) is DOWN: check-timeout (fall 3/3)");
    }

    private static InetSocketAddress address(String ip, int port) throws Exception {
        // Built from literals only; no name lookup and no traffic.
        return new InetSocketAddress(InetAddress.getByName(ip), port);
    }
}
