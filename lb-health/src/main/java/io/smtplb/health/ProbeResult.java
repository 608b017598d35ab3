package io.smtplb.health;

import java.time.Duration;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * The verdict of one health check.
 *
 * @param passed whether the backend passed
 * @param reason why it failed, or {@code null} when it passed
 * @param detail a phrase for the log line that quotes the relay where it spoke, such as
 *     {@code greeting was "421 4.3.2 busy"}, or names the error, such as
 *     {@code connect refused: Connection refused}; on a pass, the certificate problem that
 *     {@code tls-verify = warn} let through, otherwise {@code null}
 * @param duration time from the start of the check to its verdict
 * @param tlsDaysToExpiry whole days until the relay's certificate expires (negative once expired), or empty
 *     when no TLS handshake completed
 */
public record ProbeResult(boolean passed, FailureReason reason, String detail, Duration duration,
                          OptionalInt tlsDaysToExpiry) {

    public ProbeResult {
        Objects.requireNonNull(duration, "duration");
        Objects.requireNonNull(tlsDaysToExpiry, "tlsDaysToExpiry");
        if (passed == (reason != null)) {
            throw new IllegalArgumentException("reason: " + reason + " (expected: null exactly when passed)");
        }
    }

    /** Returns a passing result; {@code warning} is the certificate problem let through, or {@code null}. */
    public static ProbeResult pass(Duration duration, OptionalInt tlsDaysToExpiry, String warning) {
        return new ProbeResult(true, null, warning, duration, tlsDaysToExpiry);
    }

    /** Returns a failing result. */
    public static ProbeResult fail(FailureReason reason, String detail, Duration duration,
                                   OptionalInt tlsDaysToExpiry) {
        return new ProbeResult(false, Objects.requireNonNull(reason, "reason"), detail, duration, tlsDaysToExpiry);
    }
}
