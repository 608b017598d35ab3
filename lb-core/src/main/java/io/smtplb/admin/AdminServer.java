package io.smtplb.admin;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.timeout.ReadTimeoutHandler;
import io.smtplb.SmtpLoadBalancer;
import io.smtplb.proxy.Addresses;
import io.smtplb.proxy.ListenerBindException;
import io.smtplb.proxy.Transport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * The HTTP administration endpoint on {@code admin.bind}: metrics, health, state, the status page and the
 * admin API ({@link AdminHandler} lists the routes).
 *
 * <p>It runs on one event loop of its own, so a slow scrape or a large state document never delays a client
 * session, and client load never delays the health response that keepalived waits for.
 */
public final class AdminServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(AdminServer.class);
    /** Larger request bodies are rejected; the API takes none. */
    private static final int MAX_REQUEST_BYTES = 64 * 1024;
    /** An idle keep-alive connection is closed after this; Prometheus reconnects on its next scrape. */
    private static final int IDLE_SECONDS = 120;

    private final EventLoopGroup group;
    private final BackendAdmin backendAdmin;
    private volatile Channel channel;
    private volatile String token;

    private AdminServer(SmtpLoadBalancer balancer, Transport transport, String token) {
        this.group = transport.newGroup(1, "smtplb-admin");
        this.backendAdmin = new BackendAdmin(balancer, group);
        this.token = token;
    }

    /**
     * Binds the endpoint.
     *
     * @param token bearer token that POST requests must carry, or {@code null} for none
     * @throws ListenerBindException when the address cannot be bound; nothing stays running then
     */
    public static AdminServer start(SmtpLoadBalancer balancer, Transport transport, InetSocketAddress bind,
                                    String token) {
        AdminServer server = new AdminServer(balancer, transport, token);
        AdminHandler handler = new AdminHandler(balancer, server.backendAdmin, () -> server.token);
        try {
            server.channel = bootstrap(server.group, transport, handler).bind(bind).sync().channel();
        } catch (Exception e) {
            server.group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            throw new ListenerBindException("admin endpoint: cannot bind " + Addresses.format(bind) + ": "
                    + e.getMessage(), e);
        }
        log.info("admin endpoint on http://{}/ (metrics, health, state, admin API{})",
                Addresses.format(server.address()), token == null ? "; POST needs no token" : "");
        return server;
    }

    private static ServerBootstrap bootstrap(EventLoopGroup group, Transport transport, AdminHandler handler) {
        return new ServerBootstrap()
                .group(group)
                .channel(transport.serverChannelClass())
                .option(ChannelOption.SO_REUSEADDR, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel channel) {
                        channel.pipeline()
                                .addLast(new ReadTimeoutHandler(IDLE_SECONDS))
                                .addLast(new HttpServerCodec())
                                .addLast(new HttpObjectAggregator(MAX_REQUEST_BYTES))
                                .addLast(handler);
                    }
                });
    }

    /** Returns the bound address, with the port the kernel chose when the configuration sets port 0. */
    public InetSocketAddress address() {
        return (InetSocketAddress) channel.localAddress();
    }

    /** Returns the operator actions on backends, whose deadlines run on this endpoint's event loop. */
    public BackendAdmin backendAdmin() {
        return backendAdmin;
    }

    /** Returns the token that POST requests must carry, or {@code null} for none. */
    public String token() {
        return token;
    }

    /** Replaces the token after a reload; {@code null} removes it. */
    public void setToken(String token) {
        this.token = token;
    }

    /** Closes the endpoint and cancels pending drain deadlines. */
    @Override
    public void close() {
        backendAdmin.cancelAll();
        channel.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
