package io.smtplb.health;

import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.smtp.DefaultSmtpRequest;
import io.netty.handler.codec.smtp.SmtpCommand;
import io.netty.handler.codec.smtp.SmtpRequest;
import io.netty.handler.codec.smtp.SmtpRequests;
import io.netty.handler.codec.smtp.SmtpResponse;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import io.smtplb.health.HealthCheckSettings.ProxyHeader;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the SMTP dialogue of one health check and records its verdict in a {@link ProbeRun}.
 *
 * <p>The dialogue is greeting, {@code EHLO}, optionally {@code STARTTLS} with a TLS handshake and a second
 * {@code EHLO} (RFC 3207, section 4.2: the client must discard what it learnt before TLS), optionally
 * {@code MAIL FROM:<>}, {@code RCPT TO} and {@code RSET}, then {@code QUIT} and its {@code 221}. Each command
 * is written only after the last line of the previous reply has arrived, and nothing but the PROXY header
 * is written before the complete greeting, so a relay that rejects early talkers (Postfix postscreen's
 * pregreet test) finds no fault. Replies are matched by their parsed code.
 *
 * <p>After a failed step that left the relay in a known state, the handler still sends {@code QUIT} and
 * waits up to {@code step-timeout} for the relay to close, so relay logs show an orderly end. The channel
 * is closed with a FIN (no {@code SO_LINGER} 0). Runs on the check channel's event loop.
 */
final class SmtpDialogueHandler extends SimpleChannelInboundHandler<SmtpResponse> {

    private static final Logger log = LoggerFactory.getLogger(SmtpDialogueHandler.class);

    private static final SmtpCommand STARTTLS = SmtpCommand.valueOf("STARTTLS");

    /** The dialogue step, named after the command whose reply the handler waits for. */
    private enum Step {
        GREETING(null),
        EHLO("EHLO"),
        STARTTLS("STARTTLS"),
        TLS_HANDSHAKE(null),
        TLS_EHLO("EHLO after STARTTLS"),
        MAIL("MAIL FROM:<>"),
        RCPT("RCPT TO"),
        RSET("RSET"),
        QUIT("QUIT"),
        /** The verdict is known; waiting for the 221 to a farewell QUIT or for the relay to close. */
        CLOSING("QUIT");

        final String command;

        Step(String command) {
            this.command = command;
        }

        String awaited() {
            if (this == GREETING) {
                return "the greeting";
            }
            return this == TLS_HANDSHAKE ? "the TLS handshake" : "the reply to " + command;
        }
    }

    private final HealthCheckSettings settings;
    private final ProbeTls tls;
    private final InetSocketAddress target;
    private final ProbeRun run;
    private ChannelHandlerContext ctx;
    private Step step = Step.GREETING;
    private ScheduledFuture<?> timer;
    private ProbeTrustManager trustManager;

    private final ChannelFutureListener onWritten = future -> {
        if (!future.isSuccess()) {
            onFailure(future.cause());
        }
    };

    SmtpDialogueHandler(HealthCheckSettings settings, ProbeTls tls, InetSocketAddress target, ProbeRun run) {
        this.settings = settings;
        this.tls = tls;
        this.target = target;
        this.run = run;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        enter(Step.GREETING, settings.greetingTimeout());
        if (settings.proxyHeader() != ProxyHeader.OFF) {
            // One write, so the relay finds the whole header in its first read.
            ctx.writeAndFlush(ProxyHeaders.create(settings.proxyHeader(), ctx.channel())).addListener(onWritten);
        }
        ctx.fireChannelActive();
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, SmtpResponse reply) {
        if (step == Step.CLOSING) {
            onFarewellReply(reply);
            return;
        }
        if (run.decided()) {
            return;
        }
        cancelTimer();
        switch (step) {
            case GREETING -> onGreeting(reply);
            case EHLO, TLS_EHLO -> onEhlo(reply);
            case STARTTLS -> onStartTls(reply);
            case MAIL -> onDeepCheckReply(reply, Step.RCPT, SmtpRequests.rcpt(settings.deepCheckRecipient()));
            case RCPT -> onDeepCheckReply(reply, Step.RSET, SmtpRequests.rset());
            case RSET -> onDeepCheckReply(reply, Step.QUIT, SmtpRequests.quit());
            case QUIT -> onQuit(reply);
            case TLS_HANDSHAKE -> failAndClose(FailureReason.TLS_HANDSHAKE_FAILED,
                    "plain-text reply during the TLS handshake: " + SmtpReplies.quoted(reply));
            default -> throw new IllegalStateException("step: " + step);
        }
    }

    private void onGreeting(SmtpResponse reply) {
        int code = reply.code();
        if (code == 220) {
            send(Step.EHLO, SmtpRequests.ehlo(settings.heloName()));
            return;
        }
        String detail = "greeting was " + SmtpReplies.quoted(reply);
        if (code >= 500 && proxyHeaderSent()) {
            failAndQuit(FailureReason.PROXY_REJECTED, detail + " after a PROXY " + proxyVersion() + " header");
        } else if (code >= 500) {
            failAndQuit(FailureReason.GREETING_5XX, detail);
        } else if (code >= 400) {
            failAndQuit(FailureReason.GREETING_4XX, detail);
        } else {
            failAndClose(FailureReason.NOT_SMTP, detail + " (expected: 220)");
        }
    }

    private void onEhlo(SmtpResponse reply) {
        if (reply.code() != 250) {
            String detail = step.command + " was answered " + SmtpReplies.quoted(reply);
            if (step == Step.EHLO && reply.code() >= 500 && proxyHeaderSent()) {
                // A relay that does not expect the header reads it as a command and rejects it; that reply
                // is the first one after the greeting. NOTE: an inference, so a relay that accepts the header
                // but rejects EHLO with 5xx is reported as proxy-rejected too; the detail shows its reply.
                failAndQuit(FailureReason.PROXY_REJECTED,
                        detail + " after a PROXY " + proxyVersion() + " header");
            } else {
                failAndQuit(FailureReason.EHLO_REJECTED, detail);
            }
            return;
        }
        if (settings.starttls() && step == Step.EHLO) {
            if (!advertises(reply, "STARTTLS")) {
                failAndQuit(FailureReason.STARTTLS_UNAVAILABLE, "STARTTLS not advertised in the reply to EHLO");
                return;
            }
            send(Step.STARTTLS, new DefaultSmtpRequest(STARTTLS));
            return;
        }
        if (settings.deepCheck()) {
            send(Step.MAIL, SmtpRequests.mail(null));
        } else {
            send(Step.QUIT, SmtpRequests.quit());
        }
    }

    private void onStartTls(SmtpResponse reply) {
        if (reply.code() != 220) {
            failAndQuit(FailureReason.STARTTLS_UNAVAILABLE, "STARTTLS was answered " + SmtpReplies.quoted(reply));
            return;
        }
        ProbeTls.Handshake handshake;
        try {
            handshake = tls.newHandshake(ctx.alloc(), target);
        } catch (SSLException | RuntimeException e) {
            failAndClose(FailureReason.TLS_HANDSHAKE_FAILED, "TLS setup failed: " + messageOf(e));
            return;
        }
        trustManager = handshake.trustManager();
        SslHandler handler = handshake.handler();
        // The step timer bounds the handshake; one timer is enough.
        handler.setHandshakeTimeoutMillis(0);
        enter(Step.TLS_HANDSHAKE, settings.stepTimeout());
        ctx.pipeline().addFirst("tls", handler);
        handler.handshakeFuture().addListener(future -> onHandshakeDone(handler, future));
    }

    private void onHandshakeDone(SslHandler handler, Future<?> future) {
        if (step != Step.TLS_HANDSHAKE || run.decided()) {
            return;
        }
        cancelTimer();
        if (!future.isSuccess()) {
            failAndClose(FailureReason.TLS_HANDSHAKE_FAILED, "TLS handshake failed: " + messageOf(future.cause()));
            return;
        }
        run.tlsDaysToExpiry(ProbeTls.daysToExpiry(handler.engine().getSession(), Instant.now()));
        send(Step.TLS_EHLO, SmtpRequests.ehlo(settings.heloName()));
    }

    private void onDeepCheckReply(SmtpResponse reply, Step next, SmtpRequest nextRequest) {
        int code = reply.code();
        boolean accepted = code == 250 || (step == Step.RCPT && code == 251);
        if (!accepted) {
            String command = step == Step.RCPT ? "RCPT TO:<" + settings.deepCheckRecipient() + ">" : step.command;
            failAndQuit(FailureReason.DEEP_CHECK_REJECTED, command + " was answered " + SmtpReplies.quoted(reply));
            return;
        }
        send(next, nextRequest);
    }

    private void onQuit(SmtpResponse reply) {
        if (reply.code() == 221) {
            run.pass(trustManager == null ? null : trustManager.warning());
        } else {
            run.fail(FailureReason.QUIT_REJECTED, "QUIT was answered " + SmtpReplies.quoted(reply));
        }
        close();
    }

    private void onFarewellReply(SmtpResponse reply) {
        // Replies still queued from before the farewell QUIT are skipped; only its 221 ends the wait.
        if (reply.code() == 221) {
            close();
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        onFailure(cause);
    }

    private void onFailure(Throwable cause) {
        if (run.decided()) {
            // Such as a reset right after the relay's 221, which leaves a pass a pass.
            log.debug("{}: ignored after the verdict: {}", target, cause.toString());
            close();
            return;
        }
        if (step == Step.TLS_HANDSHAKE || cause instanceof SSLException || cause.getCause() instanceof SSLException) {
            failAndClose(FailureReason.TLS_HANDSHAKE_FAILED, "TLS handshake failed: " + messageOf(cause));
        } else if (cause instanceof DecoderException) {
            // TODO: a reply line with only a code ("250" and CRLF) is valid (RFC 5321, section 4.2) but Netty's
            //  SmtpResponseDecoder 4.1 rejects it, so such a relay is classified as not-smtp.
            failAndClose(FailureReason.NOT_SMTP, "not an SMTP reply while waiting for " + step.awaited() + ": "
                    + messageOf(cause));
        } else if (cause instanceof IOException) {
            onConnectionLost("connection lost while waiting for " + step.awaited() + ": " + messageOf(cause));
        } else {
            failAndClose(FailureReason.CLOSED_EARLY, "check aborted while waiting for " + step.awaited() + ": "
                    + cause);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        cancelTimer();
        if (!run.decided()) {
            if (step == Step.TLS_HANDSHAKE) {
                run.fail(FailureReason.TLS_HANDSHAKE_FAILED, "relay closed the connection during the TLS handshake");
            } else {
                onConnectionLost("relay closed the connection while waiting for " + step.awaited());
            }
        }
        ctx.fireChannelInactive();
    }

    private void onConnectionLost(String detail) {
        if (step == Step.GREETING && proxyHeaderSent()) {
            failAndClose(FailureReason.PROXY_REJECTED, detail + ", after a PROXY " + proxyVersion() + " header");
        } else {
            failAndClose(FailureReason.CLOSED_EARLY, detail);
        }
    }

    private void onTimeout(Step timedOut) {
        if (step != timedOut) {
            return;
        }
        timer = null;
        if (step == Step.CLOSING) {
            close();
        } else if (step == Step.GREETING) {
            failAndClose(FailureReason.GREETING_TIMEOUT,
                    "no complete greeting within " + settings.greetingTimeout().toMillis() + " ms");
        } else if (step == Step.TLS_HANDSHAKE) {
            failAndClose(FailureReason.TLS_HANDSHAKE_FAILED,
                    "TLS handshake not finished within " + settings.stepTimeout().toMillis() + " ms");
        } else {
            failAndClose(FailureReason.REPLY_TIMEOUT,
                    "no reply to " + step.command + " within " + settings.stepTimeout().toMillis() + " ms");
        }
    }

    private void send(Step next, SmtpRequest request) {
        enter(next, settings.stepTimeout());
        ctx.writeAndFlush(request).addListener(onWritten);
    }

    private void enter(Step next, Duration timeout) {
        cancelTimer();
        step = next;
        run.stage(next.awaited());
        timer = ctx.executor().schedule(() -> onTimeout(next), timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    private void failAndQuit(FailureReason reason, String detail) {
        run.fail(reason, detail);
        send(Step.CLOSING, SmtpRequests.quit());
    }

    private void failAndClose(FailureReason reason, String detail) {
        run.fail(reason, detail);
        close();
    }

    private void close() {
        cancelTimer();
        ctx.close();
    }

    private void cancelTimer() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    private boolean proxyHeaderSent() {
        return settings.proxyHeader() != ProxyHeader.OFF;
    }

    private String proxyVersion() {
        return settings.proxyHeader() == ProxyHeader.V1 ? "v1" : "v2";
    }

    /** Returns whether an EHLO reply lists the extension keyword; the first line is the relay's name. */
    private static boolean advertises(SmtpResponse ehloReply, String keyword) {
        List<CharSequence> lines = ehloReply.details();
        for (int i = 1; i < lines.size(); i++) {
            String line = lines.get(i).toString().trim();
            int end = line.indexOf(' ');
            String first = end < 0 ? line : line.substring(0, end);
            if (first.equalsIgnoreCase(keyword)) {
                return true;
            }
        }
        return false;
    }

    /** Returns the error's message, looking through Netty's {@link DecoderException} wrapper, made safe to log. */
    static String messageOf(Throwable error) {
        String message = error.toString();
        for (Throwable cause = error; cause != null; cause = cause.getCause()) {
            if (cause.getMessage() != null && !(cause instanceof DecoderException && cause.getCause() != null)) {
                message = cause.getMessage();
                break;
            }
        }
        return SmtpReplies.sanitize(message);
    }
}
