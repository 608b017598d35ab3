package io.smtplb.bench;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * Client side of one load-test session: waits for the greeting, sends EHLO, MAIL, RCPT, DATA, the message
 * and QUIT, waits for the 221 reply and closes. A held session stops after the greeting and stays idle.
 *
 * <p>Runs on its channel's event loop. It reports exactly one outcome to the {@link SessionObserver}.
 */
final class SmtpClientSession extends ChannelInboundHandlerAdapter {

    /** Longest reply line accepted; RFC 5321 section 4.5.3.1.5 sets 512, servers send far less. */
    static final int MAX_REPLY_LINE = 2048;

    private static final byte[] MAIL = ascii("MAIL FROM:<load@bench.invalid>\r\n");
    private static final byte[] RCPT = ascii("RCPT TO:<sink@bench.invalid>\r\n");
    private static final byte[] DATA = ascii("DATA\r\n");
    private static final byte[] QUIT = ascii("QUIT\r\n");

    private enum Stage { GREETING, EHLO, MAIL, RCPT, DATA, MESSAGE, QUIT, HELD, DONE }

    private final SessionPlan plan;
    private final SessionObserver observer;
    private final long startNanos;
    private final byte[] ehlo;

    private Stage stage = Stage.GREETING;
    private boolean pipelined;
    private long greetingNanos;
    private ScheduledFuture<?> timeout;
    private ByteBuf partialLine;

    // State of the reply being read, which may span several lines and reads.
    private int replyCode = -1;
    private String replyFirstLine;
    private boolean replyAdvertisesPipelining;

    /**
     * @param startNanos {@link System#nanoTime()} the session counts from: the connect, or for an open-loop
     *                   run the moment the session was due, so that queueing delay is not hidden
     */
    SmtpClientSession(SessionPlan plan, SessionObserver observer, long startNanos) {
        this.plan = plan;
        this.observer = observer;
        this.startNanos = startNanos;
        this.ehlo = ascii("EHLO " + plan.heloName() + "\r\n");
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        long remaining = plan.timeoutNanos() - (System.nanoTime() - startNanos);
        timeout = ctx.executor().schedule(() -> onTimeout(ctx), Math.max(0, remaining), TimeUnit.NANOSECONDS);
    }

    /** Reports a failed connect; called on the channel's event loop by the connect listener. */
    void onConnectFailure(Throwable cause) {
        finish(FailureKind.ofConnectFailure(cause), "connect: " + cause.getMessage());
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf in = (ByteBuf) msg;
        try {
            if (partialLine != null) {
                // The composite takes over this read's reference.
                ((CompositeByteBuf) partialLine).addComponent(true, in);
                in = partialLine;
                partialLine = null;
            }
            readLines(ctx, in);
        } finally {
            ReferenceCountUtil.release(in);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        releasePartialLine();
        finish(FailureKind.CLOSED_EARLY, "closed by the server in " + stage);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        finish(FailureKind.ofConnectionError(cause), stage + ": " + cause.getMessage());
        ctx.close();
    }

    private void readLines(ChannelHandlerContext ctx, ByteBuf in) {
        while (in.isReadable() && stage != Stage.DONE) {
            int lineEnd = in.indexOf(in.readerIndex(), in.writerIndex(), (byte) '\n');
            if (lineEnd < 0) {
                keepPartialLine(ctx, in);
                return;
            }
            int length = lineEnd + 1 - in.readerIndex();
            if (!onLine(ctx, in, in.readerIndex(), length)) {
                return;
            }
            in.skipBytes(length);
        }
    }

    /** Parses one reply line; returns {@code false} once the session has ended. */
    private boolean onLine(ChannelHandlerContext ctx, ByteBuf in, int index, int length) {
        int code = parseCode(in, index, length);
        byte separator = length > 3 ? in.getByte(index + 3) : 0;
        if (code < 0 || (replyCode >= 0 && code != replyCode) || (separator != '-' && separator != ' '
                && separator != '\r' && separator != '\n')) {
            fail(ctx, FailureKind.PROTOCOL_ERROR, stage + ": malformed reply line " + quote(in, index, length));
            return false;
        }
        if (replyCode < 0) {
            replyCode = code;
            replyFirstLine = code >= 400 ? quote(in, index, length) : null;
        }
        if (stage == Stage.EHLO && length >= 14 && startsWithIgnoreCase(in, index + 4, "PIPELINING")) {
            replyAdvertisesPipelining = true;
        }
        if (separator == '-') {
            return true;
        }
        int completeCode = replyCode;
        String firstLine = replyFirstLine;
        replyCode = -1;
        replyFirstLine = null;
        return onReply(ctx, completeCode, firstLine);
    }

    private boolean onReply(ChannelHandlerContext ctx, int code, String firstLine) {
        int expectedClass = stage == Stage.DATA ? 3 : 2;
        if (code / 100 != expectedClass) {
            FailureKind kind = code >= 500 ? FailureKind.REPLY_5XX
                    : code >= 400 ? FailureKind.REPLY_4XX : FailureKind.PROTOCOL_ERROR;
            fail(ctx, kind, stage + ": " + (firstLine != null ? firstLine : Integer.toString(code)));
            return false;
        }
        advance(ctx);
        return stage != Stage.DONE;
    }

    private void advance(ChannelHandlerContext ctx) {
        switch (stage) {
            case GREETING -> onGreeting(ctx);
            case EHLO -> sendEnvelope(ctx, replyAdvertisesPipelining && plan.pipelining());
            case MAIL -> {
                stage = Stage.RCPT;
                writeUnlessPipelined(ctx, RCPT);
            }
            case RCPT -> {
                stage = Stage.DATA;
                writeUnlessPipelined(ctx, DATA);
            }
            case DATA -> {
                stage = Stage.MESSAGE;
                ctx.writeAndFlush(plan.message().duplicate());
            }
            case MESSAGE -> {
                stage = Stage.QUIT;
                write(ctx, QUIT);
            }
            case QUIT -> succeed(ctx);
            default -> {
                // A held connection ignores anything the server sends until it closes.
            }
        }
    }

    private void onGreeting(ChannelHandlerContext ctx) {
        greetingNanos = System.nanoTime() - startNanos;
        if (plan.hold()) {
            stage = Stage.HELD;
            timeout.cancel(false);
            observer.onHeld(greetingNanos);
            return;
        }
        stage = Stage.EHLO;
        write(ctx, ehlo);
    }

    private void sendEnvelope(ChannelHandlerContext ctx, boolean pipeline) {
        pipelined = pipeline;
        stage = Stage.MAIL;
        if (!pipeline) {
            write(ctx, MAIL);
            return;
        }
        ByteBuf commands = ctx.alloc().buffer(MAIL.length + RCPT.length + DATA.length);
        commands.writeBytes(MAIL).writeBytes(RCPT).writeBytes(DATA);
        ctx.writeAndFlush(commands);
    }

    private void writeUnlessPipelined(ChannelHandlerContext ctx, byte[] command) {
        if (!pipelined) {
            write(ctx, command);
        }
    }

    private void succeed(ChannelHandlerContext ctx) {
        long sessionNanos = System.nanoTime() - startNanos;
        stage = Stage.DONE;
        timeout.cancel(false);
        observer.onSuccess(greetingNanos, sessionNanos);
        ctx.close();
    }

    private void fail(ChannelHandlerContext ctx, FailureKind kind, String detail) {
        finish(kind, detail);
        ctx.close();
    }

    private void onTimeout(ChannelHandlerContext ctx) {
        fail(ctx, FailureKind.TIMEOUT, "no reply in " + stage + " within "
                + TimeUnit.NANOSECONDS.toMillis(plan.timeoutNanos()) + " ms of the session start");
    }

    /** Reports a failure unless an outcome was already reported. */
    private void finish(FailureKind kind, String detail) {
        if (stage == Stage.DONE) {
            return;
        }
        boolean wasHeld = stage == Stage.HELD;
        stage = Stage.DONE;
        if (timeout != null) {
            timeout.cancel(false);
        }
        if (wasHeld) {
            observer.onDroppedWhileHeld(kind, detail);
        } else {
            observer.onFailure(kind, detail);
        }
    }

    /** Keeps an incomplete line for the next read, or fails the session if the line is already too long. */
    private void keepPartialLine(ChannelHandlerContext ctx, ByteBuf in) {
        if (in.readableBytes() > MAX_REPLY_LINE) {
            fail(ctx, FailureKind.PROTOCOL_ERROR, stage + ": reply line longer than " + MAX_REPLY_LINE + " bytes");
            return;
        }
        CompositeByteBuf composite = ByteBufAllocator.DEFAULT.compositeBuffer();
        composite.addComponent(true, in.retainedSlice());
        partialLine = composite;
    }

    private void releasePartialLine() {
        if (partialLine != null) {
            partialLine.release();
            partialLine = null;
        }
    }

    private static void write(ChannelHandlerContext ctx, byte[] command) {
        ctx.writeAndFlush(ctx.alloc().buffer(command.length).writeBytes(command));
    }

    /** Returns the three-digit code at the start of a line, or -1 if the line does not start with one. */
    private static int parseCode(ByteBuf in, int index, int length) {
        if (length < 4) {
            return -1;
        }
        int code = 0;
        for (int i = 0; i < 3; i++) {
            int digit = in.getByte(index + i) - '0';
            if (digit < 0 || digit > 9) {
                return -1;
            }
            code = code * 10 + digit;
        }
        return code;
    }

    private static boolean startsWithIgnoreCase(ByteBuf in, int index, String keyword) {
        for (int i = 0; i < keyword.length(); i++) {
            if (Character.toUpperCase(in.getByte(index + i)) != keyword.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    private static String quote(ByteBuf in, int index, int length) {
        int printable = length;
        while (printable > 0 && (in.getByte(index + printable - 1) == '\n' || in.getByte(index + printable - 1) == '\r')) {
            printable--;
        }
        return '"' + in.toString(index, Math.min(printable, 200), StandardCharsets.US_ASCII) + '"';
    }

    private static byte[] ascii(String text) {
        return text.getBytes(StandardCharsets.US_ASCII);
    }
}
