package io.smtplb.proxy;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.socket.SocketChannel;
import io.smtplb.balance.BackendPool;
import io.smtplb.config.Settings;
import io.smtplb.config.SettingsLoader;
import io.smtplb.guard.ConnectionGuard;
import io.smtplb.testing.ScriptedRelay;
import io.smtplb.testing.Streams;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The TCP options of relay connections, read back from the relay channel of a live session: keepalive with the
 * pool's idle time, 10 s between probes and 3 probes, and TCP_USER_TIMEOUT in milliseconds.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class RelaySocketOptionsTest {

    @Test
    void relayConnectionCarriesPoolTcpOptions() throws Exception {
        Transport transport = Transport.epoll();
        EventLoopGroup group = transport.newGroup(1, "options-test");
        try (ScriptedRelay relay = new ScriptedRelay(socket -> {
                Streams.writeLine(socket.getOutputStream(), "220 relay.test ESMTP");
                Streams.readToEnd(socket.getInputStream());
                socket.close();
            })) {
            Settings settings = SettingsLoader.parse("""
                    smtplb {
                      listeners.test { bind = "127.0.0.1:0", pool = relays }
                      pools.relays {
                        tcp-keepalive = 45s
                        tcp-user-timeout = 20s
                        health-check { type = none }
                        backends = [ { name = r1, address = "127.0.0.1:%d" } ]
                      }
                      admin { bind = "" }
                    }
                    """.formatted(relay.port()), "test.conf");
            ListenerContext context = new ListenerContext(settings.listeners().get("test"),
                    new BackendPool(settings.pools().get("relays")), "lb.test", Settings.ForwardingMode.SPLICE,
                    settings.timeouts().idle());
            CompletableFuture<ClientSession> session = new CompletableFuture<>();
            Channel server = new ServerBootstrap().group(group).channel(transport.serverChannelClass())
                    .childOption(ChannelOption.AUTO_READ, false)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel channel) {
                            ClientSession created = new ClientSession("00000001", context, new SessionRegistry(),
                                    SessionObserver.NONE, new ConnectionGuard(settings.limits()));
                            channel.pipeline().addLast(created);
                            session.complete(created);
                        }
                    })
                    .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();

            try (Socket client = new Socket()) {
                client.connect(server.localAddress());
                assertThat(Streams.readLine(client.getInputStream())).isEqualTo("220 relay.test ESMTP");
                Channel relayChannel = session.get(5, TimeUnit.SECONDS).relayChannel();

                assertThat(relayChannel.config().getOption(ChannelOption.SO_KEEPALIVE)).isTrue();
                // Netty enables TCP_NODELAY by default; SMTP replies are small and must not wait for Nagle.
                assertThat(relayChannel.config().getOption(ChannelOption.TCP_NODELAY)).isTrue();
                assertThat(relayChannel.config().getOption(EpollChannelOption.TCP_KEEPIDLE)).isEqualTo(45);
                assertThat(relayChannel.config().getOption(EpollChannelOption.TCP_USER_TIMEOUT)).isEqualTo(20_000);
            } finally {
                server.close().sync();
            }
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }
}
