package io.smtplb.guard;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;

/**
 * Netty's PROXY protocol decoder, counting the bytes it receives so that the length of the header is known:
 * the bytes received minus those still buffered when the decoded header is passed on.
 */
final class ProxyHeaderDecoder extends HAProxyMessageDecoder {

    private long bytesReceived;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (msg instanceof ByteBuf data) {
            bytesReceived += data.readableBytes();
        }
        super.channelRead(ctx, msg);
    }

    /** Returns the bytes consumed so far; exact while the decoded header is being passed on. */
    int bytesConsumed() {
        return (int) (bytesReceived - internalBuffer().readableBytes());
    }
}
