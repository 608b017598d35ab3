package io.smtplb.bench;

import io.netty.buffer.ByteBuf;

/**
 * What every client session of a run does.
 *
 * @param message the content followed by {@code .CRLF}, shared and never released
 * @param heloName the name sent with EHLO
 * @param pipelining whether MAIL, RCPT and DATA go out together when the server advertises PIPELINING
 * @param hold whether the session stops after the greeting and stays idle instead of sending mail
 * @param timeoutNanos maximum time from the start to the 221 reply (to the greeting for held connections)
 */
record SessionPlan(ByteBuf message, String heloName, boolean pipelining, boolean hold, long timeoutNanos) {
}
