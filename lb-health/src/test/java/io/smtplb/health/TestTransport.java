package io.smtplb.health;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;

/** The transports that socket behaviours are tested on: NIO and the native epoll transport used in production. */
enum TestTransport {
    NIO {
        @Override
        EventLoopGroup newGroup(int threads) {
            return new NioEventLoopGroup(threads);
        }

        @Override
        Class<? extends SocketChannel> channelClass() {
            return NioSocketChannel.class;
        }
    },
    EPOLL {
        @Override
        EventLoopGroup newGroup(int threads) {
            // Fails, rather than skips, where the native library cannot load: production runs on epoll.
            Epoll.ensureAvailability();
            return new EpollEventLoopGroup(threads);
        }

        @Override
        Class<? extends SocketChannel> channelClass() {
            return EpollSocketChannel.class;
        }
    };

    abstract EventLoopGroup newGroup(int threads);

    abstract Class<? extends SocketChannel> channelClass();
}
