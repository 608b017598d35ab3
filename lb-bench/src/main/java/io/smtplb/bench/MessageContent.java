package io.smtplb.bench;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

import java.nio.charset.StandardCharsets;

/**
 * The message every load-test session sends: a few headers and a body of printable lines, built once and
 * shared read-only by all sessions.
 *
 * <p>The content is exactly the requested size, ends with CRLF and has no line that starts with a dot, so
 * it is sent as is, followed by the {@code .CRLF} terminator.
 */
final class MessageContent {

    private static final String HEADER = "From: <load@bench.invalid>\r\n"
            + "To: <sink@bench.invalid>\r\n"
            + "Subject: smtplb load test\r\n"
            + "Message-ID: <load-test@bench.invalid>\r\n"
            + "\r\n";

    /** Smallest message: the headers and one empty body line. */
    static final int MIN_SIZE = HEADER.length() + 2;

    private static final int LINE_LENGTH = 78;

    private MessageContent() {
    }

    /**
     * Builds the content of {@code size} bytes followed by the {@code .CRLF} terminator, as a buffer that
     * callers {@link ByteBuf#duplicate() duplicate} for each write and never release.
     */
    static ByteBuf withTerminator(int size) {
        if (size < MIN_SIZE) {
            throw new IllegalArgumentException("message size: " + size + " (expected: >= " + MIN_SIZE + ")");
        }
        byte[] bytes = new byte[size + 3];
        byte[] header = HEADER.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(header, 0, bytes, 0, header.length);
        fillBody(bytes, header.length, size);
        bytes[size] = '.';
        bytes[size + 1] = '\r';
        bytes[size + 2] = '\n';
        return Unpooled.unreleasableBuffer(Unpooled.directBuffer(bytes.length).writeBytes(bytes));
    }

    /** Fills {@code [from, end)} with lines of letters, each ending in CRLF, the last one sized to fit. */
    private static void fillBody(byte[] bytes, int from, int end) {
        int position = from;
        while (position < end) {
            int remaining = end - position;
            int lineLength = Math.min(LINE_LENGTH + 2, remaining);
            if (remaining - lineLength == 1) {
                // A 1-byte remainder cannot hold a CRLF, so this line takes it.
                lineLength++;
            }
            for (int i = 0; i < lineLength - 2; i++) {
                bytes[position + i] = (byte) ('a' + (i % 26));
            }
            bytes[position + lineLength - 2] = '\r';
            bytes[position + lineLength - 1] = '\n';
            position += lineLength;
        }
    }
}
