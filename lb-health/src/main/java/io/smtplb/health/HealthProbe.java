package io.smtplb.health;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.haproxy.HAProxyMessageEncoder;
import io.netty.handler.codec.smtp.SmtpRequestEncoder;
import io.netty.handler.codec.smtp.SmtpResponseDecoder;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import io.smtplb.health.HealthCheckSettings.CheckType;
import io.smtplb.health.HealthCheckSettings.ProxyHeader;

import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * One backend's active health check: connects, runs the check that {@code type} names, and reports a
 * {@link ProbeResult}.
 *
 * <p>Usage, on any thread:
 * <pre>{@code
 * HealthProbe probe = HealthProbe.create(settings, NioSocketChannel.class);
 * InetSocketAddress target = probe.targetFor(backendAddress);
 * probe.check(group.next(), target).addListener(f -> log(f.getNow()));
 * }</pre>
 *
 * <p>The returned future always succeeds, with a failing result when the check fails. It completes once the
 * check's connection is inactive (or, after a failed connect, just before its socket is closed on the same
 * event loop), so the next check of a backend never overlaps this one. Cancelling it aborts the check and closes the connection.
 * {@code timeout} bounds the time to the verdict; the orderly close after a failure adds at most
 * {@code step-timeout}.
 */
public final class HealthProbe {

    /** Longest reply line accepted; RFC 5321 allows 512 octets, real relays sometimes send more. */
    static final int MAX_REPLY_LINE_LENGTH = 2048;

    private static final Pattern NATIVE_CALL_PREFIX = Pattern.compile("^\\w+\\(\\.\\.\\) failed( with error\\(-?\\d+\\))?: ");

    private final HealthCheckSettings settings;
    private final Class<? extends SocketChannel> channelClass;
    private final ProbeTls tls;

    private HealthProbe(HealthCheckSettings settings, Class<? extends SocketChannel> channelClass, ProbeTls tls) {
        this.settings = settings;
        this.channelClass = channelClass;
        this.tls = tls;
    }

    /**
     * Creates the probe for the settings, loading {@code tls-ca-file} when STARTTLS is on.
     *
     * @throws IllegalArgumentException if a setting cannot be used: an unreadable CA file, or a line break in
     *     {@code helo-name} or {@code deep-check-recipient}
     */
    public static HealthProbe create(HealthCheckSettings settings, Class<? extends SocketChannel> channelClass) {
        Objects.requireNonNull(settings, "settings");
        Objects.requireNonNull(channelClass, "channelClass");
        requireCommandArgument("helo-name", settings.heloName());
        if (settings.deepCheck()) {
            requireCommandArgument("deep-check-recipient", settings.deepCheckRecipient());
        }
        ProbeTls tls = settings.type() == CheckType.SMTP && settings.starttls() ? ProbeTls.create(settings) : null;
        return new HealthProbe(settings, channelClass, tls);
    }

    private static void requireCommandArgument(String key, String value) {
        if (value == null || value.isBlank() || value.chars().anyMatch(c -> c < 0x21 || c > 0x7e)) {
            throw new IllegalArgumentException(key + ": \"" + value + "\" (expected: printable ASCII, no spaces)");
        }
    }

    /** Returns the settings this probe runs with. */
    public HealthCheckSettings settings() {
        return settings;
    }

    /**
     * Returns the address to check for a backend: its own address unless {@code address} or {@code port}
     * override it. A host name in {@code address} is resolved here, on the calling thread; a name that does
     * not resolve yields an unresolved address, and checks against it fail with {@code connect-failed}.
     */
    public InetSocketAddress targetFor(InetSocketAddress backendAddress) {
        // TODO: a host name in address is resolved only here (on load and reload); a DNS change between
        //  reloads is not followed.
        int port = settings.port() != 0 ? settings.port() : backendAddress.getPort();
        String host = settings.address();
        if (host == null || host.isEmpty()) {
            return backendAddress.isUnresolved()
                    ? InetSocketAddress.createUnresolved(backendAddress.getHostString(), port)
                    : new InetSocketAddress(backendAddress.getAddress(), port);
        }
        return new InetSocketAddress(host, port);
    }

    /**
     * Starts one check of {@code target} on {@code loop}.
     *
     * @throws IllegalStateException if {@code type} is {@code none}
     */
    public Future<ProbeResult> check(EventLoop loop, InetSocketAddress target) {
        if (settings.type() == CheckType.NONE) {
            throw new IllegalStateException("health-check type: none (expected: smtp or tcp to run a check)");
        }
        Promise<ProbeResult> promise = loop.newPromise();
        ProbeRun run = new ProbeRun(promise, System.nanoTime());
        if (target.isUnresolved()) {
            run.fail(FailureReason.CONNECT_FAILED, "connect failed: " + target.getHostString() + " is unresolved");
            run.complete();
            return promise;
        }
        ChannelFuture connect = bootstrap(loop, target, run).connect(target);
        Channel channel = connect.channel();
        ScheduledFuture<?> deadline = loop.schedule(() -> onCheckTimeout(run, channel),
                settings.timeout().toNanos(), TimeUnit.NANOSECONDS);
        connect.addListener(future -> {
            if (!future.isSuccess()) {
                onConnectFailed(run, future.cause());
            }
        });
        channel.closeFuture().addListener(future -> deadline.cancel(false));
        promise.addListener(future -> {
            if (future.isCancelled()) {
                channel.close();
            }
        });
        return promise;
    }

    private Bootstrap bootstrap(EventLoop loop, InetSocketAddress target, ProbeRun run) {
        int connectMillis = (int) Math.min(Integer.MAX_VALUE, Math.max(1, settings.connectTimeout().toMillis()));
        return new Bootstrap()
                .group(loop)
                .channel(channelClass)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, connectMillis)
                .option(ChannelOption.TCP_NODELAY, true)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel channel) {
                        initPipeline(channel.pipeline(), target, run);
                    }
                });
    }

    private void initPipeline(ChannelPipeline pipeline, InetSocketAddress target, ProbeRun run) {
        if (settings.proxyHeader() != ProxyHeader.OFF) {
            pipeline.addLast("proxy-header", HAProxyMessageEncoder.INSTANCE);
        }
        if (settings.type() == CheckType.TCP) {
            pipeline.addLast("tcp-check", new TcpConnectHandler(settings, run));
        } else {
            pipeline.addLast("smtp-decoder", new SmtpResponseDecoder(MAX_REPLY_LINE_LENGTH));
            pipeline.addLast("smtp-encoder", new SmtpRequestEncoder());
            pipeline.addLast("smtp-dialogue", new SmtpDialogueHandler(settings, tls, target, run));
        }
        // Last in the pipeline, so the check handler has recorded its verdict before the run completes. The
        // close future would be too early: it completes before channelInactive reaches the handlers.
        pipeline.addLast("probe-completion", new ChannelInboundHandlerAdapter() {
            @Override
            public void channelInactive(ChannelHandlerContext ctx) {
                run.complete();
            }
        });
    }

    private void onCheckTimeout(ProbeRun run, Channel channel) {
        run.fail(FailureReason.CHECK_TIMEOUT, "check not finished within " + settings.timeout().toMillis()
                + " ms, waiting for " + run.stage());
        channel.close();
    }

    private static void onConnectFailed(ProbeRun run, Throwable cause) {
        FailureReason reason = classifyConnectFailure(cause);
        String prefix = reason == FailureReason.CLOSED_EARLY
                ? "relay reset the connection as it was established: " : "connect failed: ";
        run.fail(reason, prefix + connectErrorText(cause));
        // The channel closes right after this listener, on the same event loop, so no other check of the
        // backend can start in between.
        run.complete();
    }

    /**
     * Returns the connect error's message without the system call prefix that the epoll transport adds
     * ({@code finishConnect(..) failed with error(-111): }), so both transports read alike in logs.
     */
    static String connectErrorText(Throwable cause) {
        return NATIVE_CALL_PREFIX.matcher(SmtpDialogueHandler.messageOf(cause)).replaceFirst("");
    }

    /**
     * Sorts a connect failure by its exception; the native and NIO transports both report strerror(3) text.
     * A reset counts as {@code closed-early}: the relay accepted the connection and reset it before the
     * transport saw the connect complete, which the NIO transport reports as a failed connect.
     */
    static FailureReason classifyConnectFailure(Throwable cause) {
        if (cause instanceof ConnectTimeoutException) {
            return FailureReason.CONNECT_TIMEOUT;
        }
        String message = String.valueOf(cause.getMessage());
        if (cause instanceof ConnectException && message.contains("refused")) {
            return FailureReason.CONNECT_REFUSED;
        }
        if (message.contains("reset")) {
            return FailureReason.CLOSED_EARLY;
        }
        return message.contains("timed out") ? FailureReason.CONNECT_TIMEOUT : FailureReason.CONNECT_FAILED;
    }
}
