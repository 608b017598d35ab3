package io.smtplb.bench;

import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TargetTest {

    @Test
    void parsesNameAddressAndPids() {
        Target target = Target.parse("nginx=127.0.0.1:2600@100+101+102");

        assertThat(target.name()).isEqualTo("nginx");
        assertThat(target.addresses()).containsExactly(new InetSocketAddress("127.0.0.1", 2600));
        assertThat(target.pids()).containsExactly(100L, 101L, 102L);
    }

    @Test
    void parsesSeveralAddressesWithoutPids() {
        Target target = Target.parse("direct=127.0.0.1:2501,127.0.0.1:2502");

        assertThat(target.addresses()).containsExactly(new InetSocketAddress("127.0.0.1", 2501),
                new InetSocketAddress("127.0.0.1", 2502));
        assertThat(target.pids()).isEmpty();
    }

    @Test
    void parsesBracketedIpv6Address() {
        Target target = Target.parse("v6=[::1]:2525");

        assertThat(target.addresses().get(0).getAddress().getHostAddress()).isEqualTo("0:0:0:0:0:0:0:1");
        assertThat(target.addresses().get(0).getPort()).isEqualTo(2525);
    }

    @Test
    void rejectsTargetWithoutPort() {
        assertThatThrownBy(() -> Target.parse("x=127.0.0.1"))
                .hasMessageStartingWith("--target: x=127.0.0.1 (expected: NAME=HOST:PORT");
    }

    @Test
    void rejectsTargetWithoutName() {
        assertThatThrownBy(() -> Target.parse("127.0.0.1:25")).hasMessageStartingWith("--target: 127.0.0.1:25");
    }
}
