package io.smtplb.proxy;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFactory;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollMode;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.socket.InternetProtocolFamily;
import io.netty.channel.socket.SocketChannel;
import io.smtplb.config.Settings.LimitSettings;
import io.smtplb.guard.AcceptErrorHandler;
import io.smtplb.guard.ConnectionGuard;
import io.smtplb.guard.ProxyHeaderGate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.ServerSocketChannel;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The listening side: binds every listener's addresses and starts a {@link ClientSession} per accepted client.
 *
 * <p>On epoll each address gets one server socket per event loop with SO_REUSEPORT, so the kernel spreads
 * accepts over the loops. TCP_DEFER_ACCEPT is never set: an SMTP client waits for the server's greeting
 * before it sends anything, so a deferred accept would never complete.
 *
 * <p>Every new client passes the {@link ConnectionGuard} (allow and deny lists, connection limits) before a relay
 * is contacted; on listeners with {@code accept-proxy = on} it first passes a {@link ProxyHeaderGate}, which
 * reads the PROXY header of the balancer in front. Failed accepts, such as running out of file descriptors,
 * pause accepting briefly instead of spinning (see {@link AcceptErrorHandler}).
 */
public final class ProxyServer {

    private static final Logger log = LoggerFactory.getLogger(ProxyServer.class);
    private static final int ACCEPT_BACKLOG = 4096;

    private final Transport transport;
    private final EventLoopGroup group;
    private final int loops;
    private final SessionRegistry sessions = new SessionRegistry();
    private final AtomicLong sessionIds = new AtomicLong();
    private final Map<String, BoundListener> listeners = new LinkedHashMap<>();
    private final ConnectionGuard guard;
    private volatile SessionObserver observer;

    /** One listener's server sockets and the context its new sessions start with. */
    private static final class BoundListener {
        volatile ListenerContext context;
        final List<Channel> channels = new ArrayList<>();
        final List<InetSocketAddress> boundAddresses = new ArrayList<>();
        final AcceptErrorHandler acceptErrors;

        BoundListener(ListenerContext context) {
            this.context = context;
            this.acceptErrors = new AcceptErrorHandler(context.name());
        }
    }

    public ProxyServer(Transport transport, EventLoopGroup group, int loops, LimitSettings limits,
                       SessionObserver observer) {
        this.transport = transport;
        this.group = group;
        this.loops = Math.max(1, loops);
        this.guard = new ConnectionGuard(limits);
        this.observer = observer;
    }

    /** Returns the admission control shared by all listeners, for its counters. */
    public ConnectionGuard guard() {
        return guard;
    }

    /** Applies new global limits after a reload; open sessions keep their places in the counters. */
    public void updateLimits(LimitSettings limits) {
        guard.updateLimits(limits);
    }

    public SessionRegistry sessions() {
        return sessions;
    }

    public Transport transport() {
        return transport;
    }

    public void setObserver(SessionObserver observer) {
        this.observer = observer;
    }

    /**
     * Binds all addresses of a listener. On failure, whatever was bound for it is closed again.
     *
     * @throws ListenerBindException naming the listener and the address that could not be bound
     */
    public synchronized void bind(ListenerContext context) {
        BoundListener bound = new BoundListener(context);
        try {
            for (InetSocketAddress address : context.listener().binds()) {
                bindAddress(bound, address);
            }
        } catch (ListenerBindException e) {
            bound.channels.forEach(Channel::close);
            throw e;
        }
        listeners.put(context.name(), bound);
        log.info("listener {} bound to {}, forwarding to pool {} ({})", context.name(), bound.boundAddresses,
                context.pool().name(), context.forwarding().name().toLowerCase());
    }

    private void bindAddress(BoundListener bound, InetSocketAddress address) {
        int sockets = transport.isEpoll() ? loops : 1;
        if (transport.isEpoll()) {
            ensureNotInUse(bound.context.name(), address);
        }
        InetSocketAddress actual = address;
        for (int i = 0; i < sockets; i++) {
            Channel channel;
            try {
                channel = serverBootstrap(bound, address).bind(actual).sync().channel();
            } catch (Exception e) {
                throw new ListenerBindException("listener " + bound.context.name() + ": cannot bind "
                        + Addresses.format(address) + ": " + e.getMessage(), e);
            }
            bound.channels.add(channel);
            if (i == 0) {
                // With port 0 the kernel picks a port; the other SO_REUSEPORT sockets must share it.
                actual = (InetSocketAddress) channel.localAddress();
                bound.boundAddresses.add(actual);
            }
        }
    }

    /**
     * Fails when another socket already listens on {@code address}. SO_REUSEPORT alone would not: the kernel
     * lets any process of the same user that also sets it (Postfix's smtpd and smtp-sink do) share the port,
     * and then splits new connections between the two programs without an error. A plain socket bound for a
     * moment detects that case.
     */
    private static void ensureNotInUse(String listener, InetSocketAddress address) {
        if (address.getPort() == 0) {
            return;
        }
        try (ServerSocketChannel probe = ServerSocketChannel.open()) {
            probe.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            probe.bind(address);
        } catch (IOException e) {
            throw new ListenerBindException("listener " + listener + ": cannot bind " + Addresses.format(address)
                    + ": " + e.getMessage() + " (another program listens on it; stop it or choose another address)",
                    e);
        }
    }

    private ServerBootstrap serverBootstrap(BoundListener bound, InetSocketAddress address) {
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(group, group)
                .option(ChannelOption.SO_BACKLOG, ACCEPT_BACKLOG)
                .option(ChannelOption.SO_REUSEADDR, true)
                .handler(bound.acceptErrors)
                .childOption(ChannelOption.AUTO_READ, false)
                // TCP_NODELAY is not set here: Netty enables it by default on every socket channel.
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                // With auto-close off, a failed write reaches the session as an exception, and the session closes
                // the socket through Closing, after the current batch of events.
                .childOption(ChannelOption.AUTO_CLOSE, false)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel channel) {
                        ListenerContext context = bound.context;
                        String id = sessionId(sessionIds.incrementAndGet());
                        if (context.listener().acceptProxy()) {
                            ProxyHeaderGate.install(channel.pipeline(), context.listener());
                        }
                        channel.pipeline().addLast("session",
                                new ClientSession(id, context, sessions, observer, guard));
                    }
                });
        if (transport.isEpoll() && address.getAddress() instanceof Inet4Address) {
            // An IPv4 address gets an IPv4 socket, and so do the clients it accepts, rather than dual-stack IPv6
            // sockets that carry IPv4-mapped addresses.
            bootstrap.channelFactory((ChannelFactory<ServerChannel>) () -> new EpollServerSocketChannel(
                    InternetProtocolFamily.IPv4));
        } else {
            bootstrap.channel(transport.serverChannelClass());
        }
        if (transport.isEpoll()) {
            bootstrap.option(EpollChannelOption.SO_REUSEPORT, true);
            // splice(2) through Netty needs level-triggered channels on both ends.
            bootstrap.childOption(EpollChannelOption.EPOLL_MODE, EpollMode.LEVEL_TRIGGERED);
        }
        return bootstrap;
    }

    /** Formats a session number as 8 or more hex digits, the connection id that log lines start with. */
    static String sessionId(long number) {
        String hex = Long.toHexString(number);
        return hex.length() >= 8 ? hex : "00000000".substring(hex.length()) + hex;
    }

        /** Returns the addresses a listener is bound to (with the port the kernel chose when the configuration gives 0). */
    public synchronized List<InetSocketAddress> boundAddresses(String listener) {
        BoundListener bound = listeners.get(listener);
        return bound == null ? List.of() : List.copyOf(bound.boundAddresses);
    }

    /** Returns the names of the bound listeners. */
    public synchronized List<String> listenerNames() {
        return List.copyOf(listeners.keySet());
    }

    /** Returns whether every server socket of the listener is open. */
    public synchronized boolean isBound(String listener) {
        BoundListener bound = listeners.get(listener);
        return bound != null && bound.channels.stream().allMatch(Channel::isActive);
    }

    /** Replaces the context new sessions of a bound listener start with; open sessions keep theirs. */
    public synchronized void update(ListenerContext context) {
        BoundListener bound = listeners.get(context.name());
        if (bound != null) {
            bound.context = context;
        }
    }

    /** Returns the context of a bound listener, or {@code null}. */
    public synchronized ListenerContext context(String listener) {
        BoundListener bound = listeners.get(listener);
        return bound == null ? null : bound.context;
    }

    /** Closes a listener's server sockets; its open sessions continue. */
    public synchronized void unbind(String listener) {
        BoundListener bound = listeners.remove(listener);
        if (bound != null) {
            bound.channels.forEach(channel -> channel.close().syncUninterruptibly());
            log.info("listener {} closed; open sessions continue ({} in all)", listener, sessions.size());
        }
    }

    /** Closes every server socket; open sessions continue. */
    public synchronized void stopAccepting() {
        for (String name : List.copyOf(listeners.keySet())) {
            unbind(name);
        }
    }
}
