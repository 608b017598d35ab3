package io.smtplb.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * A strict, minimal SMTP client for load tests that must tell where a session failed: before the
 * greeting (a new session the balancer should have saved) or after it (a session in flight on a relay).
 */
public final class SmtpTestClient {

    /** Where one session ended. */
    public enum Outcome {
        DELIVERED,
        /** No 220 greeting reached the client: connect failed, a 421, or a close. */
        FAILED_BEFORE_GREETING,
        /** The session broke after a relay greeted it. */
        BROKEN_IN_FLIGHT
    }

    private SmtpTestClient() {
    }

    /** Runs one complete session with one message; never throws for network errors. */
    public static Outcome send(InetSocketAddress server, String subject) {
        boolean greeted = false;
        try (Socket socket = new Socket()) {
            socket.connect(server, 5_000);
            socket.setSoTimeout(15_000);
            InputStream in = socket.getInputStream();
            OutputStream out = socket.getOutputStream();
            greeted = reply(in) == 220;
            if (!greeted) {
                return Outcome.FAILED_BEFORE_GREETING;
            }
            boolean ok = command(out, in, "EHLO client.test", 250)
                    && command(out, in, "MAIL FROM:<load@devices.test>", 250)
                    && command(out, in, "RCPT TO:<ops@example.test>", 250)
                    && command(out, in, "DATA", 354)
                    && command(out, in, "Subject: " + subject + "\r\n\r\nbody of " + subject + "\r\n.", 250)
                    && command(out, in, "QUIT", 221);
            return ok ? Outcome.DELIVERED : Outcome.BROKEN_IN_FLIGHT;
        } catch (IOException e) {
            return greeted ? Outcome.BROKEN_IN_FLIGHT : Outcome.FAILED_BEFORE_GREETING;
        }
    }

    private static boolean command(OutputStream out, InputStream in, String line, int expected) throws IOException {
        out.write((line + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        return reply(in) == expected;
    }

    /** Reads a complete, possibly multi-line reply and returns its code, or -1 at end of stream. */
    public static int reply(InputStream in) throws IOException {
        for (;;) {
            String line = Streams.readLine(in);
            if (line == null || line.length() < 3) {
                return -1;
            }
            if (line.length() == 3 || line.charAt(3) != '-') {
                return Integer.parseInt(line.substring(0, 3));
            }
        }
    }
}
