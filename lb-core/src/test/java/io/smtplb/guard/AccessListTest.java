package io.smtplb.guard;

import io.smtplb.config.Cidr;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class AccessListTest {

    private static List<Cidr> networks(String... texts) {
        return Arrays.stream(texts).map(Cidr::parse).toList();
    }

    private static boolean permits(AccessList list, String address) throws Exception {
        return list.permits(InetAddress.getByName(address));
    }

    @Test
    void emptyListsAdmitEveryAddress() throws Exception {
        AccessList list = AccessList.of(List.of(), List.of());

        assertThat(permits(list, "192.0.2.1")).isTrue();
        assertThat(permits(list, "2001:db8::1")).isTrue();
    }

    @Test
    void emptyAllowAdmitsAllButDenied() throws Exception {
        AccessList list = AccessList.of(List.of(), networks("192.0.2.0/24", "2001:db8::/32"));

        assertThat(permits(list, "192.0.2.77")).isFalse();
        assertThat(permits(list, "192.0.3.1")).isTrue();
        assertThat(permits(list, "2001:db8:1::5")).isFalse();
        assertThat(permits(list, "2001:db9::5")).isTrue();
    }

    @Test
    void allowListRejectsUnlistedAddresses() throws Exception {
        AccessList list = AccessList.of(networks("10.0.0.0/8", "fd00::/8"), List.of());

        assertThat(permits(list, "10.200.3.4")).isTrue();
        assertThat(permits(list, "fd12::1")).isTrue();
        assertThat(permits(list, "11.0.0.1")).isFalse();
        assertThat(permits(list, "fe80::1")).isFalse();
    }

    @Test
    void longerDenyCarvesHoleInAllow() throws Exception {
        AccessList list = AccessList.of(networks("10.0.0.0/8"), networks("10.99.0.0/16"));

        assertThat(permits(list, "10.99.1.1")).isFalse();
        assertThat(permits(list, "10.98.1.1")).isTrue();
    }

    @Test
    void longerAllowReopensDeniedRange() throws Exception {
        AccessList list = AccessList.of(networks("10.99.5.0/24"), networks("10.99.0.0/16"));

        assertThat(permits(list, "10.99.5.9")).isTrue();
        assertThat(permits(list, "10.99.6.9")).isFalse();
    }

    @Test
    void denyWinsAtEqualPrefixLength() throws Exception {
        AccessList list = AccessList.of(networks("192.0.2.0/24"), networks("192.0.2.0/24"));

        assertThat(permits(list, "192.0.2.1")).isFalse();
    }

    @Test
    void ipv4MappedAddressMatchesIpv4Rules() {
        AccessList list = AccessList.of(networks("127.0.0.0/8"), networks("127.0.0.3/32"));
        byte[] mappedAllowed = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff, 127, 0, 0, 2};
        byte[] mappedDenied = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff, 127, 0, 0, 3};

        assertThat(list.permits(Networks.bytesOf(ipv6(mappedAllowed)))).isTrue();
        assertThat(list.permits(Networks.bytesOf(ipv6(mappedDenied)))).isFalse();
    }

    @Test
    void prefixBoundariesInsideByteAreExact() throws Exception {
        AccessList list = AccessList.of(networks("192.0.2.64/27"), List.of());

        assertThat(permits(list, "192.0.2.63")).isFalse();
        assertThat(permits(list, "192.0.2.64")).isTrue();
        assertThat(permits(list, "192.0.2.95")).isTrue();
        assertThat(permits(list, "192.0.2.96")).isFalse();
    }

    @Test
    void ipv4RulesNeverMatchIpv6Clients() throws Exception {
        AccessList list = AccessList.of(networks("0.0.0.0/0"), List.of());

        assertThat(permits(list, "2001:db8::1")).isFalse();
        assertThat(permits(list, "198.51.100.1")).isTrue();
    }

    private static InetAddress ipv6(byte[] bytes) {
        try {
            return java.net.Inet6Address.getByAddress(null, bytes, -1);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }
}
