package io.smtplb.config;

import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * Name lookups that the loader needs. Tests substitute their own so that no lookup leaves the machine.
 */
interface HostResolver {

    /** Resolves a host name with the JDK's resolver (hosts file, then DNS, as the system is set up). */
    HostResolver SYSTEM = new HostResolver() {
        @Override
        public InetAddress resolve(String host) throws UnknownHostException {
            return InetAddress.getByName(host);
        }

        @Override
        public String localHostName() {
            try {
                return InetAddress.getLocalHost().getHostName();
            } catch (UnknownHostException e) {
                return "localhost";
            }
        }
    };

    /** Returns an address of {@code host}, which is a host name, never an address literal. */
    InetAddress resolve(String host) throws UnknownHostException;

    /** Returns this machine's host name, or {@code localhost} when it cannot be determined. */
    String localHostName();
}
