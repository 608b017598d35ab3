package io.smtplb.config;

import io.smtplb.config.LoadContext.BindSite;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.List;

/**
 * Finds binds that the kernel would reject because another bind of the same configuration already uses the
 * address and port.
 *
 * <p>A wildcard covers the specific addresses of its family: {@code 0.0.0.0:25} collides with
 * {@code 10.0.0.1:25}. {@code [::]} collides with every address on its port, IPv4 included, because the JDK and
 * Netty open IPv6 sockets dual-stack, as long as the Linux default {@code net.ipv6.bindv6only = 0} is in force.
 * Port 0 requests a free port and never collides.
 */
final class BindConflicts {

    private BindConflicts() {
    }

    /** Reports each bind that collides with an earlier one, naming the earlier one and where it is set. */
    static void check(List<BindSite> binds, ProblemCollector problems) {
        for (int later = 1; later < binds.size(); later++) {
            for (int earlier = 0; earlier < later; earlier++) {
                if (collide(binds.get(earlier), binds.get(later))) {
                    report(binds.get(earlier), binds.get(later), problems);
                    break;
                }
            }
        }
    }

    private static boolean collide(BindSite a, BindSite b) {
        int port = a.address().getPort();
        if (port == 0 || port != b.address().getPort()) {
            return false;
        }
        return overlap(a.address().getAddress(), b.address().getAddress());
    }

    private static boolean overlap(InetAddress a, InetAddress b) {
        if (a.equals(b) || isIpv6Wildcard(a) || isIpv6Wildcard(b)) {
            return true;
        }
        boolean bothIpv4 = a instanceof Inet4Address && b instanceof Inet4Address;
        return bothIpv4 && (a.isAnyLocalAddress() || b.isAnyLocalAddress());
    }

    private static boolean isIpv6Wildcard(InetAddress address) {
        return address instanceof Inet6Address && address.isAnyLocalAddress();
    }

    /** Names the line of the earlier bind, with its file when that differs from the later bind's file. */
    private static String location(BindSite earlier, BindSite later) {
        String file = ProblemCollector.fileOf(earlier.value().origin());
        String line = "line " + ProblemCollector.lineOf(earlier.value().origin());
        return file.equals(ProblemCollector.fileOf(later.value().origin())) ? line : file + " " + line;
    }

    private static void report(BindSite earlier, BindSite later, ProblemCollector problems) {
        String earlierText = Addresses.format(earlier.address());
        String laterText = Addresses.format(later.address());
        String where = location(earlier, later);
        String detail = earlierText.equals(laterText)
                ? earlier.path() + " binds it too, at " + where
                : earlier.path() + " binds " + earlierText + " at " + where + ", and the wildcard covers both";
        problems.add(later.value().origin(), later.path(),
                laterText + " (expected: an address and port bound only once; " + detail + ")");
    }
}
