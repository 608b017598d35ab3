package io.smtplb.health;

import io.netty.util.concurrent.Promise;

import java.time.Duration;
import java.util.OptionalInt;

/**
 * The state of one check while it runs: what step it is at, its verdict once known, and the promise that
 * reports it.
 *
 * <p>The first verdict wins; later ones (a reset after {@code 221}, a timeout racing a reply) are ignored.
 * The promise completes only when the check's channel has closed, so the next check of the backend never
 * overlaps this one. Confined to the check channel's event loop.
 */
final class ProbeRun {

    private final Promise<ProbeResult> promise;
    private final long startNanos;
    private String stage = "connect";
    private ProbeResult verdict;
    private OptionalInt tlsDaysToExpiry = OptionalInt.empty();

    ProbeRun(Promise<ProbeResult> promise, long startNanos) {
        this.promise = promise;
        this.startNanos = startNanos;
    }

    /** Names what the check waits for, such as {@code the reply to EHLO}, for a check-timeout detail. */
    void stage(String description) {
        this.stage = description;
    }

    String stage() {
        return stage;
    }

    void tlsDaysToExpiry(OptionalInt days) {
        this.tlsDaysToExpiry = days;
    }

    boolean decided() {
        return verdict != null;
    }

    void pass(String warning) {
        if (verdict == null) {
            verdict = ProbeResult.pass(elapsed(), tlsDaysToExpiry, warning);
        }
    }

    void fail(FailureReason reason, String detail) {
        if (verdict == null) {
            verdict = ProbeResult.fail(reason, detail, elapsed(), tlsDaysToExpiry);
        }
    }

    /** Reports the verdict, or {@code closed-early} if there is none; called once the channel is inactive. */
    void complete() {
        fail(FailureReason.CLOSED_EARLY, "connection closed while waiting for " + stage);
        promise.trySuccess(verdict);
    }

    private Duration elapsed() {
        return Duration.ofNanos(System.nanoTime() - startNanos);
    }
}
