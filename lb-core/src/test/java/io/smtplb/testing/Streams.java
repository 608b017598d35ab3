package io.smtplb.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import java.util.zip.CRC32C;

/** Deterministic test streams and their checksums, for byte-exact forwarding checks. */
public final class Streams {

    private static final int CHUNK = 64 * 1024;

    private Streams() {
    }

    /** Length and CRC32C of a stream. */
    public record Digest(long length, long crc) {
    }

    /** Writes {@code length} pseudo-random bytes from {@code seed} and returns their digest. */
    public static Digest write(OutputStream out, long length, long seed) throws IOException {
        SplittableRandom random = new SplittableRandom(seed);
        CRC32C crc = new CRC32C();
        byte[] chunk = new byte[CHUNK];
        long left = length;
        while (left > 0) {
            int size = (int) Math.min(CHUNK, left);
            random.nextBytes(chunk);
            crc.update(chunk, 0, size);
            out.write(chunk, 0, size);
            left -= size;
        }
        out.flush();
        return new Digest(length, crc.getValue());
    }

    /** Returns the digest of {@code length} bytes from {@code seed} without writing them. */
    public static Digest expected(long length, long seed) throws IOException {
        return write(OutputStream.nullOutputStream(), length, seed);
    }

    /** Reads until end of stream and returns the digest of what was read. */
    public static Digest readToEnd(InputStream in) throws IOException {
        CRC32C crc = new CRC32C();
        byte[] chunk = new byte[CHUNK];
        long length = 0;
        for (int n; (n = in.read(chunk)) >= 0; ) {
            crc.update(chunk, 0, n);
            length += n;
        }
        return new Digest(length, crc.getValue());
    }

    /** Reads one CRLF-terminated line, without the CRLF; returns {@code null} at end of stream. */
    public static String readLine(InputStream in) throws IOException {
        StringBuilder line = new StringBuilder();
        for (int b; (b = in.read()) >= 0; ) {
            if (b == '\n') {
                int end = line.length();
                return end > 0 && line.charAt(end - 1) == '\r' ? line.substring(0, end - 1) : line.toString();
            }
            line.append((char) b);
        }
        return line.length() == 0 ? null : line.toString();
    }

    /** Writes an SMTP line with CRLF. */
    public static void writeLine(OutputStream out, String line) throws IOException {
        out.write((line + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }
}
