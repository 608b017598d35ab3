package io.smtplb.bench;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.util.internal.logging.InternalLoggerFactory;
import io.netty.util.internal.logging.JdkLoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Set;
import java.util.concurrent.CountDownLatch;

/**
 * A fast SMTP sink: accepts sessions, discards every message and counts what it received. It replaces
 * the relays behind a balancer in benchmarks, so that the relay's own cost stays small and constant.
 *
 * <pre>
 * java -cp lb-bench/target/benchmarks.jar io.smtplb.bench.SmtpSink --port 0 --port-file sink1.port
 * </pre>
 *
 * <p>On SIGTERM or SIGINT it prints its counters as one JSON line and exits.
 */
public final class SmtpSink implements AutoCloseable {

    private static final Set<String> VALUE_OPTIONS = Set.of("bind", "port", "port-file", "threads", "backlog");
    private static final Set<String> FLAG_OPTIONS = Set.of("nio", "help");
    private static final String USAGE = """
            Usage: SmtpSink [--bind ADDRESS] [--port N] [--port-file FILE] [--threads N] [--backlog N] [--nio]
              --bind ADDRESS    address to listen on (default 127.0.0.1)
              --port N          port to listen on, 0 for a free one (default 0)
              --port-file FILE  file that receives the bound port once the sink accepts connections
              --threads N       event loop threads (default 1)
              --backlog N       listen backlog (default 4096)
              --nio             use NIO even where native epoll is available
            """;

    private final EventLoopGroup group;
    private final Channel serverChannel;
    private final SinkCounters counters = new SinkCounters();
    private final Transport transport;

    private SmtpSink(InetSocketAddress bindAddress, int threads, int backlog, Transport transport)
            throws InterruptedException {
        this.transport = transport;
        this.group = transport.newGroup(threads, "smtp-sink");
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(group)
                .channel(transport.serverSocketChannel())
                .option(ChannelOption.SO_BACKLOG, backlog)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel channel) {
                        channel.pipeline().addLast(new SinkSessionHandler(counters));
                    }
                });
        try {
            this.serverChannel = bootstrap.bind(bindAddress).sync().channel();
        } catch (RuntimeException | InterruptedException e) {
            group.shutdownGracefully();
            throw e;
        }
    }

    /** Starts a sink on {@code bindAddress} (port 0 for a free port) with the given event loop threads. */
    public static SmtpSink start(InetSocketAddress bindAddress, int threads) throws InterruptedException {
        return new SmtpSink(bindAddress, threads, 4096, Transport.select(false));
    }

    /** Returns the address the sink listens on, with the port actually bound. */
    public InetSocketAddress address() {
        return (InetSocketAddress) serverChannel.localAddress();
    }

    /** Returns the number of messages received completely, up to the final {@code CRLF.CRLF}. */
    public long messages() {
        return counters.messages.sum();
    }

    /** Returns the number of connections accepted. */
    public long connections() {
        return counters.connections.sum();
    }

    /** Returns the number of {@code QUIT} commands that got a 221 reply. */
    public long quits() {
        return counters.quits.sum();
    }

    /** Returns the number of commands that got a 5xx reply. */
    public long rejectedCommands() {
        return counters.rejectedCommands.sum();
    }

    /** Returns the counters as one JSON object. */
    public String countersJson() {
        return counters.toJson();
    }

    @Override
    public void close() {
        serverChannel.close().syncUninterruptibly();
        group.shutdownGracefully(0, 2, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
    }

    public static void main(String[] args) throws InterruptedException {
        InternalLoggerFactory.setDefaultFactory(JdkLoggerFactory.INSTANCE);
        CommandLine options;
        try {
            options = CommandLine.parse(args, VALUE_OPTIONS, FLAG_OPTIONS);
        } catch (CommandLine.UsageException e) {
            System.err.println("smtp-sink: " + e.getMessage());
            System.err.print(USAGE);
            System.exit(2);
            return;
        }
        if (options.flag("help")) {
            System.out.print(USAGE);
            return;
        }
        run(options);
    }

    private static void run(CommandLine options) throws InterruptedException {
        InetSocketAddress bindAddress = new InetSocketAddress(options.string("bind", "127.0.0.1"),
                options.intValue("port", 0, 0, 65535));
        Transport transport = Transport.select(options.flag("nio"));
        SmtpSink sink = new SmtpSink(bindAddress, options.intValue("threads", 1, 1, 256),
                options.intValue("backlog", 4096, 1, 65535), transport);

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            sink.close();
            System.out.println(sink.countersJson());
            System.out.flush();
            stopped.countDown();
        }, "smtp-sink-shutdown"));

        System.out.println("smtp-sink listening on " + sink.address().getAddress().getHostAddress() + ":"
                + sink.address().getPort() + " (" + transport.displayName() + ")");
        String portFile = options.string("port-file", null);
        if (portFile != null) {
            writeAtomically(Path.of(portFile), Integer.toString(sink.address().getPort()));
        }
        stopped.await();
    }

    /** Writes through a temporary file and a rename, so a script polling for the file never reads half of it. */
    static void writeAtomically(Path target, String content) {
        try {
            Path absolute = target.toAbsolutePath();
            Path temporary = Files.createTempFile(absolute.getParent(), absolute.getFileName().toString(), ".tmp");
            Files.writeString(temporary, content + "\n", StandardCharsets.US_ASCII);
            Files.move(temporary, absolute, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException("writing " + target + " failed", e);
        }
    }
}
