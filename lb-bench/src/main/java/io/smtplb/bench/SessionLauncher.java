package io.smtplb.bench;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Opens client sessions to the addresses of one target in turn; each connect gets its own
 * {@link SmtpClientSession}.
 */
final class SessionLauncher {

    private final Bootstrap bootstrap;
    private final List<InetSocketAddress> addresses;
    private final AtomicInteger nextAddress = new AtomicInteger();
    private final SessionPlan plan;

    SessionLauncher(EventLoopGroup group, Transport transport, List<InetSocketAddress> addresses, SessionPlan plan,
                    int connectTimeoutMillis) {
        this.bootstrap = new Bootstrap()
                .group(group)
                .channel(transport.socketChannel())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, connectTimeoutMillis);
        this.addresses = List.copyOf(addresses);
        this.plan = plan;
    }

    /**
     * Starts one session; its outcome goes to {@code observer}.
     *
     * @param startNanos when the session counts as started, see {@link SmtpClientSession}
     * @return the session's channel
     */
    Channel launch(SessionObserver observer, long startNanos) {
        SmtpClientSession session = new SmtpClientSession(plan, observer, startNanos);
        InetSocketAddress address = addresses.get(Math.floorMod(nextAddress.getAndIncrement(), addresses.size()));
        ChannelFuture connect = bootstrap.clone().handler(session).connect(address);
        connect.addListener(future -> {
            if (!future.isSuccess()) {
                session.onConnectFailure(future.cause());
            }
        });
        return connect.channel();
    }
}
