package io.smtplb.config;

import org.junit.jupiter.api.Test;

import java.net.Inet6Address;
import java.net.InetAddress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CidrTest {

    private static InetAddress ip(String literal) throws Exception {
        return InetAddress.getByName(literal);
    }

    /** Builds ::ffff:a.b.c.d as an Inet6Address; InetAddress.getByName would turn it into an Inet4Address. */
    private static InetAddress mapped(int a, int b, int c, int d) throws Exception {
        byte[] bytes = new byte[16];
        bytes[10] = (byte) 0xff;
        bytes[11] = (byte) 0xff;
        bytes[12] = (byte) a;
        bytes[13] = (byte) b;
        bytes[14] = (byte) c;
        bytes[15] = (byte) d;
        return Inet6Address.getByAddress(null, bytes, -1);
    }

    @Test
    void ipv4NetworkContainsItsAddressesOnly() throws Exception {
        Cidr network = Cidr.parse("10.0.0.0/8");

        assertThat(network.contains(ip("10.0.0.0"))).isTrue();
        assertThat(network.contains(ip("10.255.255.255"))).isTrue();
        assertThat(network.contains(ip("11.0.0.0"))).isFalse();
        assertThat(network.contains(ip("9.255.255.255"))).isFalse();
    }

    @Test
    void prefixNotOnByteBoundary() throws Exception {
        Cidr network = Cidr.parse("172.16.0.0/12");

        assertThat(network.contains(ip("172.31.255.255"))).isTrue();
        assertThat(network.contains(ip("172.32.0.0"))).isFalse();
        assertThat(network.contains(ip("172.15.255.255"))).isFalse();
    }

    @Test
    void bareAddressIsHostRoute() throws Exception {
        Cidr host = Cidr.parse("192.0.2.7");

        assertThat(host.prefixLength()).isEqualTo(32);
        assertThat(host.contains(ip("192.0.2.7"))).isTrue();
        assertThat(host.contains(ip("192.0.2.8"))).isFalse();
    }

    @Test
    void ipv6NetworkContainsItsAddressesOnly() throws Exception {
        Cidr network = Cidr.parse("2001:db8::/32");

        assertThat(network.contains(ip("2001:db8:ffff::1"))).isTrue();
        assertThat(network.contains(ip("2001:db9::1"))).isFalse();
        assertThat(Cidr.parse("::1").contains(ip("::1"))).isTrue();
    }

    @Test
    void familiesDoNotMatchEachOther() throws Exception {
        assertThat(Cidr.parse("0.0.0.0/0").contains(ip("2001:db8::1"))).isFalse();
        assertThat(Cidr.parse("::/0").contains(ip("10.0.0.1"))).isFalse();
    }

    @Test
    void mappedAddressMatchesIpv4Network() throws Exception {
        InetAddress client = mapped(10, 1, 2, 3);
        assertThat(client).isInstanceOf(Inet6Address.class);

        assertThat(Cidr.parse("10.0.0.0/8").contains(client)).isTrue();
        assertThat(Cidr.parse("192.168.0.0/16").contains(client)).isFalse();
        assertThat(Cidr.parse("10.0.0.0/8").contains(ip("::ffff:10.1.2.3"))).isTrue();
    }

    @Test
    void mappedNetworkIsReadAsIpv4() throws Exception {
        Cidr network = Cidr.parse("::ffff:10.0.0.0/104");

        assertThat(network).isEqualTo(Cidr.parse("10.0.0.0/8"));
        assertThat(network.contains(ip("10.9.9.9"))).isTrue();
        assertThat(network.contains(mapped(10, 9, 9, 9))).isTrue();
    }

    @Test
    void hostBitsAreMaskedAway() {
        assertThat(Cidr.parse("10.1.2.3/8")).isEqualTo(Cidr.parse("10.0.0.0/8"));
        assertThat(Cidr.parse("10.1.2.3/8").toString()).isEqualTo("10.1.2.3/8");
    }

    @Test
    void prefixZeroMatchesWholeFamily() throws Exception {
        assertThat(Cidr.parse("0.0.0.0/0").contains(ip("203.0.113.9"))).isTrue();
        assertThat(Cidr.parse("::/0").contains(ip("2001:db8::9"))).isTrue();
    }

    @Test
    void malformedNetworksAreRejectedWithTheValue() {
        for (String text : new String[] {"10.0.0.0/33", "2001:db8::/129", "banana", "10.0.0.0/x", "", "10.1/16",
                "10.0.0.256/8", "10.0.0.0/", "::ffff:10.0.0.0/95", "mx.example.com/24"}) {
            assertThatThrownBy(() -> Cidr.parse(text)).as(text)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("\"" + text + "\"");
        }
    }
}
