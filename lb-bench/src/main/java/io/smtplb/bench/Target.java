package io.smtplb.bench;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * A named destination of the load tool, and the processes whose CPU time each sample reports.
 *
 * <p>Written {@code NAME=HOST:PORT[,HOST:PORT...][@PID+PID...]}; IPv6 hosts go in brackets,
 * {@code direct=[::1]:2525}. Sessions go to the addresses in turn, so that a baseline without a balancer can
 * spread over the same relays as the balancers do. The PIDs are the balancer's processes (for nginx, its
 * workers).
 */
record Target(String name, List<InetSocketAddress> addresses, List<Long> pids) {

    Target {
        addresses = List.copyOf(addresses);
        pids = List.copyOf(pids);
    }

    static Target parse(String text) {
        int equals = text.indexOf('=');
        if (equals <= 0) {
            throw invalid(text);
        }
        String name = text.substring(0, equals);
        String rest = text.substring(equals + 1);
        List<Long> pids = new ArrayList<>();
        int at = rest.indexOf('@');
        if (at >= 0) {
            for (String pid : rest.substring(at + 1).split("\\+")) {
                pids.add(parsePid(text, pid));
            }
            rest = rest.substring(0, at);
        }
        List<InetSocketAddress> addresses = new ArrayList<>();
        for (String address : rest.split(",")) {
            addresses.add(parseAddress(text, address));
        }
        return new Target(name, addresses, pids);
    }

    static InetSocketAddress parseAddress(String whole, String hostPort) {
        int colon = hostPort.lastIndexOf(':');
        if (colon <= 0) {
            throw invalid(whole);
        }
        String host = hostPort.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        try {
            int port = Integer.parseInt(hostPort.substring(colon + 1));
            if (port < 1 || port > 65535) {
                throw invalid(whole);
            }
            return new InetSocketAddress(host, port);
        } catch (NumberFormatException e) {
            throw invalid(whole);
        }
    }

    private static long parsePid(String whole, String pid) {
        try {
            return Long.parseLong(pid);
        } catch (NumberFormatException e) {
            throw invalid(whole);
        }
    }

    private static CommandLine.UsageException invalid(String text) {
        return new CommandLine.UsageException("--target: " + text
                + " (expected: NAME=HOST:PORT[,HOST:PORT...][@PID+PID...],"
                + " such as haproxy=127.0.0.1:2525@4711)");
    }
}
