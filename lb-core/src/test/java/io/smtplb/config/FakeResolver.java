package io.smtplb.config;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.HashMap;
import java.util.Map;

/** A {@link HostResolver} with a fixed table of names, so that tests never query DNS. */
final class FakeResolver implements HostResolver {

    static final String LOCAL_HOST_NAME = "lb-test.example.net";

    private final Map<String, byte[]> addresses = new HashMap<>();

    /** Returns a resolver for {@code mx1.example.test} (10.0.0.11) and {@code mx2.example.test} (10.0.0.12). */
    static FakeResolver standard() {
        return new FakeResolver()
                .with("mx1.example.test", 10, 0, 0, 11)
                .with("mx2.example.test", 10, 0, 0, 12)
                .with("localhost", 127, 0, 0, 1);
    }

    FakeResolver with(String name, int... octets) {
        byte[] bytes = new byte[octets.length];
        for (int i = 0; i < octets.length; i++) {
            bytes[i] = (byte) octets[i];
        }
        addresses.put(name, bytes);
        return this;
    }

    @Override
    public InetAddress resolve(String host) throws UnknownHostException {
        byte[] bytes = addresses.get(host);
        if (bytes == null) {
            throw new UnknownHostException(host + ": not in the test table");
        }
        return InetAddress.getByAddress(host, bytes);
    }

    @Override
    public String localHostName() {
        return LOCAL_HOST_NAME;
    }
}
