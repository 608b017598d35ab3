package io.smtplb.health;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.SocketChannel;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.smtplb.health.HealthCheckSettings.ProxyHeader;

import java.util.concurrent.TimeUnit;

/**
 * Runs a {@code type = tcp} check: the connect alone passes, after the PROXY header when one is configured.
 *
 * <p>The check then shuts down its output and waits up to {@code step-timeout} for the relay to close. Closing
 * at once could reset the connection: a close with unread data in the receive buffer (such as a greeting
 * that arrived meanwhile) makes the kernel send RST instead of FIN.
 */
final class TcpConnectHandler extends ChannelInboundHandlerAdapter {

    private final HealthCheckSettings settings;
    private final ProbeRun run;
    private ScheduledFuture<?> timer;

    TcpConnectHandler(HealthCheckSettings settings, ProbeRun run) {
        this.settings = settings;
        this.run = run;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        if (settings.proxyHeader() == ProxyHeader.OFF) {
            onConnected(ctx);
        } else {
            ctx.writeAndFlush(ProxyHeaders.create(settings.proxyHeader(), ctx.channel())).addListener(future -> {
                if (future.isSuccess()) {
                    onConnected(ctx);
                } else {
                    run.fail(FailureReason.CLOSED_EARLY, "PROXY header not written: "
                            + SmtpDialogueHandler.messageOf(future.cause()));
                    ctx.close();
                }
            });
        }
        ctx.fireChannelActive();
    }

    private void onConnected(ChannelHandlerContext ctx) {
        run.pass(null);
        run.stage("the relay to close");
        timer = ctx.executor().schedule(() -> ctx.close(), settings.stepTimeout().toNanos(), TimeUnit.NANOSECONDS);
        ((SocketChannel) ctx.channel()).shutdownOutput();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ReferenceCountUtil.release(msg);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        run.fail(FailureReason.CLOSED_EARLY, "connection lost: " + SmtpDialogueHandler.messageOf(cause));
        ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (timer != null) {
            timer.cancel(false);
        }
        ctx.fireChannelInactive();
    }
}
