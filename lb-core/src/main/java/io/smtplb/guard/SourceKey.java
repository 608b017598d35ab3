package io.smtplb.guard;

/**
 * A source address on one listener, as a map key: the address bytes packed into two longs, so that building a
 * key costs one small object.
 *
 * @param listener listener name
 * @param high first 8 bytes of an IPv6 address, 0 for IPv4
 * @param low last 8 bytes of an IPv6 address, or the 4 bytes of an IPv4 address
 * @param length 4 or 16
 */
record SourceKey(String listener, long high, long low, int length) {

    static SourceKey of(String listener, byte[] address) {
        if (address.length == 4) {
            return new SourceKey(listener, 0, readInt(address, 0) & 0xffffffffL, 4);
        }
        long high = ((long) readInt(address, 0) << 32) | (readInt(address, 4) & 0xffffffffL);
        long low = ((long) readInt(address, 8) << 32) | (readInt(address, 12) & 0xffffffffL);
        return new SourceKey(listener, high, low, address.length);
    }

    private static int readInt(byte[] bytes, int offset) {
        return (bytes[offset] & 0xff) << 24 | (bytes[offset + 1] & 0xff) << 16 | (bytes[offset + 2] & 0xff) << 8
                | (bytes[offset + 3] & 0xff);
    }
}
