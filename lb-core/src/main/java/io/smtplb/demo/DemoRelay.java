package io.smtplb.demo;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.LineBasedFrameDecoder;
import io.netty.handler.codec.string.StringDecoder;
import io.netty.handler.codec.string.StringEncoder;
import io.smtplb.proxy.Transport;

import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A minimal SMTP relay for {@code smtplb demo}: it accepts any message, prints one line about it, and
 * discards it. It is a demonstration aid, not a mail server: no queue, no delivery, no authentication.
 */
public final class DemoRelay implements AutoCloseable {

    private static final int MAX_LINE_LENGTH = 64 * 1024;

    private final String name;
    private final PrintStream out;
    private final AtomicInteger messages = new AtomicInteger();
    private Channel channel;

    public DemoRelay(String name, PrintStream out) {
        this.name = name;
        this.out = out;
    }

    /** Binds to {@code address} (port 0 picks a free port) on the given group. */
    public DemoRelay start(EventLoopGroup group, Transport transport, InetSocketAddress address)
            throws InterruptedException {
        channel = new ServerBootstrap()
                .group(group)
                .channel(transport.serverChannelClass())
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new LineBasedFrameDecoder(MAX_LINE_LENGTH, true, false),
                                new StringDecoder(StandardCharsets.UTF_8),
                                new StringEncoder(StandardCharsets.UTF_8),
                                new Dialogue());
                    }
                })
                .bind(address).sync().channel();
        return this;
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) channel.localAddress();
    }

    public String name() {
        return name;
    }

    /** Returns the number of messages accepted so far. */
    public int messages() {
        return messages.get();
    }

    @Override
    public void close() {
        if (channel != null) {
            channel.close().syncUninterruptibly();
        }
    }

    /** One SMTP conversation; commands may arrive pipelined. */
    private final class Dialogue extends SimpleChannelInboundHandler<String> {
        private boolean inData;
        private long dataBytes;
        private String sender = "";

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ctx.writeAndFlush("220 " + name + " ESMTP smtplb demo relay\r\n");
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, String line) {
            if (inData) {
                onDataLine(ctx, line);
                return;
            }
            String verb = line.length() >= 4 ? line.substring(0, 4).toUpperCase(Locale.ROOT) : line.toUpperCase(Locale.ROOT);
            switch (verb) {
                case "EHLO" -> ctx.write("250-" + name + " greets " + argument(line) + "\r\n"
                        + "250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 52428800\r\n");
                case "HELO" -> ctx.write("250 " + name + "\r\n");
                case "MAIL" -> {
                    sender = argument(line).replaceFirst("(?i)^FROM:\\s*", "");
                    ctx.write("250 2.1.0 Ok\r\n");
                }
                case "RCPT" -> ctx.write("250 2.1.5 Ok\r\n");
                case "DATA" -> {
                    inData = true;
                    dataBytes = 0;
                    ctx.write("354 End data with <CR><LF>.<CR><LF>\r\n");
                }
                case "RSET", "NOOP" -> ctx.write("250 2.0.0 Ok\r\n");
                case "QUIT" -> {
                    ctx.writeAndFlush("221 2.0.0 Bye\r\n").addListener(ChannelFutureListener.CLOSE);
                    return;
                }
                default -> ctx.write("502 5.5.2 Command not recognized\r\n");
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
        }

        private void onDataLine(ChannelHandlerContext ctx, String line) {
            if (!".".equals(line)) {
                dataBytes += line.length();
                return;
            }
            inData = false;
            int number = messages.incrementAndGet();
            out.printf("%s: received message %d from %s (%d bytes)%n", name, number, sender, dataBytes);
            ctx.write("250 2.0.0 Ok: queued as " + name + "-" + number + "\r\n");
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }

        private String argument(String line) {
            return line.length() > 5 ? line.substring(5).trim() : "";
        }
    }
}
