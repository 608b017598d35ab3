package io.smtplb.proxy;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Netty transport in use: native epoll on Linux when its library loads, NIO everywhere else.
 */
public final class Transport {

    private static final Logger log = LoggerFactory.getLogger(Transport.class);

    private final boolean epoll;

    private Transport(boolean epoll) {
        this.epoll = epoll;
    }

    /** Returns epoll when available, otherwise NIO with one WARN line that gives the reason. */
    public static Transport detect() {
        if (Epoll.isAvailable()) {
            return new Transport(true);
        }
        log.warn("native epoll transport unavailable ({}); using NIO: no splice(2), no SO_REUSEPORT",
                String.valueOf(Epoll.unavailabilityCause()));
        return new Transport(false);
    }

    /** Returns the NIO transport, for tests that run socket behaviour on both transports. */
    public static Transport nio() {
        return new Transport(false);
    }

    /** Returns the epoll transport; throws when the native library is not available. */
    public static Transport epoll() {
        Epoll.ensureAvailability();
        return new Transport(true);
    }

    public boolean isEpoll() {
        return epoll;
    }

    public String name() {
        return epoll ? "epoll" : "nio";
    }

    /** Creates an event loop group with {@code threads} threads, or one per core when {@code threads} is 0. */
    public EventLoopGroup newGroup(int threads, String threadName) {
        DefaultThreadFactory factory = new DefaultThreadFactory(threadName, false);
        return epoll ? new EpollEventLoopGroup(threads, factory) : new NioEventLoopGroup(threads, factory);
    }

    public Class<? extends ServerSocketChannel> serverChannelClass() {
        return epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    }

    public Class<? extends SocketChannel> socketChannelClass() {
        return epoll ? EpollSocketChannel.class : NioSocketChannel.class;
    }
}
