package io.smtplb.bench;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.util.ByteProcessor;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Server side of one sink session: greets, accepts EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP and QUIT, discards
 * the message and counts it.
 *
 * <p>Commands may be pipelined: every complete command in a read gets its reply, and the replies are flushed
 * together when the read is complete. Message content is scanned for the {@code CRLF.CRLF} terminator as it
 * arrives and is never buffered, whatever its size. Runs on the channel's event loop only.
 */
final class SinkSessionHandler extends ByteToMessageDecoder {

    /** Maximum command line length, including CRLF, as RFC 5321 section 4.5.3.1.4 sets it. */
    static final int MAX_COMMAND_LENGTH = 512;

    private static final ByteBuf GREETING = reply("220 smtp-sink ESMTP\r\n");
    private static final ByteBuf EHLO = reply("250-smtp-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n"
            + "250 ENHANCEDSTATUSCODES\r\n");
    private static final ByteBuf HELO = reply("250 smtp-sink\r\n");
    private static final ByteBuf OK = reply("250 2.0.0 Ok\r\n");
    private static final ByteBuf START_DATA = reply("354 End data with <CR><LF>.<CR><LF>\r\n");
    private static final ByteBuf QUEUED = reply("250 2.0.0 Ok: queued\r\n");
    private static final ByteBuf BYE = reply("221 2.0.0 Bye\r\n");
    private static final ByteBuf NEED_RECIPIENT = reply("503 5.5.1 Error: need RCPT command\r\n");
    private static final ByteBuf UNKNOWN = reply("502 5.5.2 Error: command not recognized\r\n");
    private static final ByteBuf TOO_LONG = reply("500 5.5.0 Error: line too long\r\n");

    private final SinkCounters counters;
    private final DataTerminatorScanner scanner = new DataTerminatorScanner();
    private boolean inData;
    private boolean hasRecipient;
    private boolean closing;

    SinkSessionHandler(SinkCounters counters) {
        this.counters = counters;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        counters.connections.increment();
        ctx.writeAndFlush(GREETING.duplicate());
        super.channelActive(ctx);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        while (in.isReadable() && !closing) {
            if (inData) {
                consumeData(ctx, in);
                continue;
            }
            int lineEnd = in.indexOf(in.readerIndex(), in.writerIndex(), (byte) '\n');
            if (lineEnd < 0) {
                rejectIfTooLong(ctx, in);
                return;
            }
            int length = lineEnd + 1 - in.readerIndex();
            if (length > MAX_COMMAND_LENGTH) {
                rejectLongLine(ctx, in);
                return;
            }
            onCommand(ctx, in, in.readerIndex(), length);
            in.skipBytes(length);
        }
        if (closing) {
            in.skipBytes(in.readableBytes());
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) throws Exception {
        ctx.flush();
        super.channelReadComplete(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // A reset from a client that gave up is part of load testing; the session simply ends.
        ctx.close();
    }

    private void consumeData(ChannelHandlerContext ctx, ByteBuf in) {
        int start = in.readerIndex();
        int end = in.forEachByte(scanner);
        int consumed = (end < 0 ? in.writerIndex() : end + 1) - start;
        in.skipBytes(consumed);
        counters.dataBytes.add(consumed);
        if (end >= 0) {
            inData = false;
            hasRecipient = false;
            counters.messages.increment();
            write(ctx, QUEUED);
        }
    }

    private void onCommand(ChannelHandlerContext ctx, ByteBuf in, int index, int length) {
        int verb = length >= 4 ? verbAt(in, index) : 0;
        switch (verb) {
            case 0x65686c6f -> write(ctx, EHLO);                      // ehlo
            case 0x68656c6f -> write(ctx, HELO);                      // helo
            case 0x6d61696c, 0x72736574 -> {                        // mail, rset
                hasRecipient = false;
                write(ctx, OK);
            }
            case 0x72637074 -> {                                    // rcpt
                hasRecipient = true;
                write(ctx, OK);
            }
            case 0x64617461 -> startData(ctx);                      // data
            case 0x6e6f6f70 -> write(ctx, OK);                        // noop
            case 0x71756974 -> quit(ctx);                           // quit
            default -> {
                counters.rejectedCommands.increment();
                write(ctx, UNKNOWN);
            }
        }
    }

    private void startData(ChannelHandlerContext ctx) {
        if (!hasRecipient) {
            counters.rejectedCommands.increment();
            write(ctx, NEED_RECIPIENT);
            return;
        }
        inData = true;
        scanner.reset();
        write(ctx, START_DATA);
    }

    private void quit(ChannelHandlerContext ctx) {
        counters.quits.increment();
        closing = true;
        ctx.writeAndFlush(BYE.duplicate()).addListener(ChannelFutureListener.CLOSE);
    }

    private void rejectIfTooLong(ChannelHandlerContext ctx, ByteBuf in) {
        if (in.readableBytes() > MAX_COMMAND_LENGTH) {
            rejectLongLine(ctx, in);
        }
    }

    private void rejectLongLine(ChannelHandlerContext ctx, ByteBuf in) {
        counters.rejectedCommands.increment();
        closing = true;
        in.skipBytes(in.readableBytes());
        ctx.writeAndFlush(TOO_LONG.duplicate()).addListener(ChannelFutureListener.CLOSE);
    }

    private static void write(ChannelHandlerContext ctx, ByteBuf reply) {
        ctx.write(reply.duplicate());
    }

    /** Returns the first four bytes at {@code index}, lower-cased ASCII, as one big-endian int. */
    private static int verbAt(ByteBuf in, int index) {
        return in.getInt(index) | 0x20202020;
    }

    private static ByteBuf reply(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
        return Unpooled.unreleasableBuffer(Unpooled.directBuffer(bytes.length).writeBytes(bytes));
    }

    /**
     * Finds the end of message content: a line holding only a dot, {@code CRLF.CRLF}. Content starts at the
     * beginning of a line, so a message that is only {@code .CRLF} ends at once. Keeps its state across reads.
     */
    static final class DataTerminatorScanner implements ByteProcessor {

        private static final int MID_LINE = 0;
        private static final int SAW_CR = 1;
        private static final int LINE_START = 2;
        private static final int LINE_START_DOT = 3;
        private static final int DOT_CR = 4;

        private int state = LINE_START;

        void reset() {
            state = LINE_START;
        }

        private static int afterCr(byte value) {
            if (value == '\n') {
                return LINE_START;
            }
            return afterOrdinary(value);
        }

        private static int afterOrdinary(byte value) {
            return value == '\r' ? SAW_CR : MID_LINE;
        }

        /** Returns {@code false} at the final LF of the terminator, which stops the scan there. */
        @Override
        public boolean process(byte value) {
            switch (state) {
                case SAW_CR -> state = afterCr(value);
                case LINE_START -> state = value == '.' ? LINE_START_DOT : afterOrdinary(value);
                case LINE_START_DOT -> state = value == '\r' ? DOT_CR : MID_LINE;
                case DOT_CR -> {
                    if (value == '\n') {
                        state = LINE_START;
                        return false;
                    }
                    state = value == '\r' ? SAW_CR : MID_LINE;
                }
                default -> state = value == '\r' ? SAW_CR : MID_LINE;
            }
            return true;
        }
    }
}
