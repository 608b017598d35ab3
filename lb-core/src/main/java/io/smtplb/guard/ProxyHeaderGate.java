package io.smtplb.guard;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyProtocolException;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import io.netty.util.NetUtil;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.smtplb.config.ListenerSettings;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * Reads the PROXY protocol header (v1 or v2) that a balancer in front of smtplb sends at the start of each client
 * connection, on listeners with {@code accept-proxy = on}, and reports the result with one
 * {@link ProxyHeaderEvent} to the handlers after it.
 *
 * <p>Only peers in {@code trusted-proxies} may send a header: for any other peer nothing is read and the event
 * says {@link ProxyHeaderEvent.Outcome#UNTRUSTED}, because a forged header would let a client choose the address
 * that allow, deny and the limits see. A header must arrive complete within {@code accept-proxy-timeout}. Bytes
 * that follow the header in the same read are passed on as ordinary reads after the event. The gate and Netty's
 * decoder leave the pipeline once the header is read.
 *
 * <p>The channel must have auto-read off: the gate asks for reads only while the header is incomplete, so the
 * session decides when the client's SMTP bytes are read. All methods run on the channel's event loop.
 */
public final class ProxyHeaderGate extends ChannelInboundHandlerAdapter {

    private static final String DECODER_NAME = "proxy-header-decoder";
    private static final String GATE_NAME = "proxy-header-gate";

    private final ListenerSettings listener;
    private final ProxyHeaderDecoder decoder;
    private ScheduledFuture<?> deadline;
    private boolean reported;

    private ProxyHeaderGate(ListenerSettings listener, ProxyHeaderDecoder decoder) {
        this.listener = listener;
        this.decoder = decoder;
    }

    /** Adds the decoder and the gate at the end of a new client channel's pipeline, before the session handler. */
    public static void install(ChannelPipeline pipeline, ListenerSettings listener) {
        ProxyHeaderDecoder decoder = new ProxyHeaderDecoder();
        pipeline.addLast(DECODER_NAME, decoder);
        pipeline.addLast(GATE_NAME, new ProxyHeaderGate(listener, decoder));
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        ctx.fireChannelActive();
        InetSocketAddress peer = (InetSocketAddress) ctx.channel().remoteAddress();
        byte[] peerBytes = Networks.bytesOf(peer.getAddress());
        if (Networks.longestMatch(listener.trustedProxies(), peerBytes) < 0) {
            report(ctx, ProxyHeaderEvent.failed(ProxyHeaderEvent.Outcome.UNTRUSTED,
                    "peer is not in trusted-proxies " + listener.trustedProxies()));
            return;
        }
        long timeoutMillis = listener.acceptProxyTimeout().toMillis();
        deadline = ctx.executor().schedule(() -> report(ctx, ProxyHeaderEvent.failed(
                ProxyHeaderEvent.Outcome.TIMEOUT, "no complete PROXY header within " + timeoutMillis + " ms")),
                timeoutMillis, TimeUnit.MILLISECONDS);
        ctx.read();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof HAProxyMessage header)) {
            ctx.fireChannelRead(msg);
            return;
        }
        try {
            report(ctx, eventFor(header, ctx));
        } finally {
            ReferenceCountUtil.release(header);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof HAProxyProtocolException && !reported) {
            report(ctx, ProxyHeaderEvent.failed(ProxyHeaderEvent.Outcome.INVALID,
                    "invalid PROXY header: " + cause.getMessage()));
            return;
        }
        ctx.fireExceptionCaught(cause);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        cancelDeadline();
        ctx.fireChannelInactive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        cancelDeadline();
    }

    private ProxyHeaderEvent eventFor(HAProxyMessage header, ChannelHandlerContext ctx) {
        int headerBytes = decoder.bytesConsumed();
        HAProxyProxiedProtocol protocol = header.proxiedProtocol();
        boolean carriesTcpAddresses = header.command() == HAProxyCommand.PROXY
                && (protocol == HAProxyProxiedProtocol.TCP4 || protocol == HAProxyProxiedProtocol.TCP6);
        if (!carriesTcpAddresses) {
            // LOCAL (the balancer's own health check) and UNKNOWN mean: use the connection's own addresses.
            return ProxyHeaderEvent.received((InetSocketAddress) ctx.channel().remoteAddress(),
                    (InetSocketAddress) ctx.channel().localAddress(), headerBytes);
        }
        return ProxyHeaderEvent.received(
                socketAddress(header.sourceAddress(), header.sourcePort()),
                socketAddress(header.destinationAddress(), header.destinationPort()), headerBytes);
    }

    private static InetSocketAddress socketAddress(String literal, int port) {
        // The decoder has validated the literal, so this parses it without a name lookup.
        InetAddress address = NetUtil.createInetAddressFromIpAddressString(literal);
        return new InetSocketAddress(address, port);
    }

    private void report(ChannelHandlerContext ctx, ProxyHeaderEvent event) {
        if (reported) {
            return;
        }
        reported = true;
        cancelDeadline();
        ctx.fireUserEventTriggered(event);
        // After a failure the session closes the channel, and the handlers go with it.
        if (event.outcome() == ProxyHeaderEvent.Outcome.RECEIVED && ctx.pipeline().get(GATE_NAME) != null) {
            ctx.pipeline().remove(this);
        }
    }

    private void cancelDeadline() {
        if (deadline != null) {
            deadline.cancel(false);
            deadline = null;
        }
    }
}
