package io.smtplb.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.ReferenceCountUtil;

import java.util.concurrent.TimeUnit;

/**
 * Closes a connection politely: send a last line, send FIN, and read until the peer closes too.
 *
 * <p>Closing a socket that still has unread input makes the kernel send a reset, and a reset can
 * destroy the last line before the peer reads it. So the socket is shut down for output first, its input is
 * read and discarded until the peer's FIN, and only then, or after a deadline, is it closed.
 */
final class Lingering extends ChannelInboundHandlerAdapter {

    private Lingering() {
    }

    /** Writes {@code line}, then closes {@code channel} politely within {@code waitMillis}. */
    static void replyAndClose(Channel channel, ByteBuf line, long waitMillis) {
        linger(channel, line, waitMillis);
    }

    /** Sends {@code quit} (when not {@code null}) to a relay, then closes it politely within {@code waitMillis}. */
    static void quitAndClose(Channel channel, byte[] quit, long waitMillis) {
        linger(channel, quit == null ? null : Unpooled.wrappedBuffer(quit), waitMillis);
    }

    private static void linger(Channel channel, ByteBuf last, long waitMillis) {
        if (!channel.isActive()) {
            if (last != null) {
                last.release();
            }
            Closing.later(channel);
            return;
        }
        channel.pipeline().addFirst(new Lingering());
        channel.eventLoop().schedule(() -> {
            channel.close();
        }, waitMillis, TimeUnit.MILLISECONDS);
        channel.writeAndFlush(last == null ? Unpooled.EMPTY_BUFFER : last).addListener((ChannelFuture f) -> {
            if (!f.isSuccess()) {
                Closing.later(channel);
                return;
            }
            ((DuplexChannel) channel).shutdownOutput();
            channel.config().setAutoRead(true);
            channel.read();
        });
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ReferenceCountUtil.release(msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
        if (event instanceof ChannelInputShutdownEvent) {
            ctx.close();
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
    }
}
