package io.smtplb.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelConfig;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelException;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.epoll.AbstractEpollStreamChannel;
import io.netty.channel.epoll.EpollMode;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.epoll.EpollSocketChannelConfig;
import io.netty.channel.epoll.EpollTcpInfo;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.channel.socket.InternetProtocolFamily;
import io.netty.handler.codec.smtp.SmtpResponse;
import io.netty.handler.codec.smtp.SmtpResponseDecoder;
import io.netty.util.concurrent.ScheduledFuture;
import io.smtplb.balance.Backend;
import io.smtplb.config.ListenerSettings;
import io.smtplb.config.PoolSettings;
import io.smtplb.config.Settings.ForwardingMode;
import io.smtplb.guard.Admission;
import io.smtplb.guard.ConnectionGuard;
import io.smtplb.guard.LogThrottle;
import io.smtplb.guard.ProxyHeaderEvent;
import io.smtplb.guard.RelayProxyHeader;
import io.smtplb.health.FailureReason;
import io.smtplb.health.HealthCheckSettings.ProxyHeader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.ConnectException;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One client connection and the relay connection that serves it, from accept to close.
 *
 * <p>The session connects to a relay as soon as the client is accepted, because in SMTP the server speaks
 * first. The client channel does not read until a relay has greeted, so bytes a client sends early stay in
 * the kernel and keep their order. With greeting failover on, the relay's greeting is read in user space: a
 * complete 220 greeting is passed to the client unchanged, anything else (4xx, 5xx, silence, a close) counts
 * as a passive health failure and the next relay is tried, up to {@code connect-attempts}. When no relay
 * can take the client, it gets one {@code 421} line and a clean close.
 *
 * <p>Once greeted, bytes are copied; a direction that has carried more than 64 KiB (a message body)
 * switches to splice(2) between the two sockets when forwarding = splice on epoll. End of
 * stream is forwarded per direction (half-close), so the relay's 221 after QUIT and a client's pipelined
 * commands before its FIN always arrive. The session closes both sockets when both directions are done.
 *
 * <p>Before any relay is contacted the client passes the {@link ConnectionGuard}: a denied address gets
 * {@code 554 5.7.1}, a client over a connection limit {@code 421 4.7.0}, each followed by a clean close. On a
 * listener with {@code accept-proxy = on} the session first waits for the {@link ProxyHeaderEvent} and uses the
 * client address from the PROXY header for everything that follows. A relay with {@code send-proxy} gets its PROXY
 * header right after the TCP connect, before its greeting is read.
 *
 * <p>All methods run on the client channel's event loop; the relay channel is registered on the same loop.
 */
final class ClientSession extends ChannelInboundHandlerAdapter {

    private static final Logger log = LoggerFactory.getLogger(ClientSession.class);

    /** Maximum greeting size over all its lines. RFC 5321 allows 512 octets per reply line. */
    private static final int MAX_GREETING_BYTES = 16 * 1024;
    private static final int MAX_REPLY_LINE_LENGTH = 4096;
    /** How long a rejected peer gets to close after our FIN before the socket is closed anyway. */
    private static final long LINGER_AFTER_REJECT_MILLIS = 10_000;
    private static final long RELAY_QUIT_WAIT_MILLIS = 2_000;
    private static final int DRAIN_CHUNK_BYTES = 64 * 1024;
    /**
     * Bytes copied in one direction before that direction switches to splice(2). The SMTP dialogue stays
     * copied, because splicing a short reply costs more system calls (socket to pipe, pipe to socket, and a
     * pipe per direction) than one read and one write. Message bodies past this size move by splice.
     */
    private static final int SPLICE_AFTER_BYTES = 64 * 1024;
    /** Attempts, 1 ms apart, to read the end of stream of a spliced socket whose FIN was already reported. */
    private static final int DRAIN_MAX_RETRIES = 1000;
    private static final byte[] QUIT = "QUIT\r\n".getBytes(StandardCharsets.US_ASCII);
    /** Interval between two log lines about rejections or local resource failures; each line counts the rest. */
    private static final long REJECTION_LOG_INTERVAL_MILLIS = 60_000;
    private static final LogThrottle overLimitLog = new LogThrottle(REJECTION_LOG_INTERVAL_MILLIS);
    private static final LogThrottle resourceLog = new LogThrottle(REJECTION_LOG_INTERVAL_MILLIS);

    /**
     * Session phases. GREETED lasts from a complete 220 greeting to the end of the read that carried it: the
     * greeting decoder is removed and hands back the bytes behind the greeting, which the tap has already copied.
     */
    private enum State { IDENTIFYING, CONNECTING, GREETING, GREETED, FORWARDING, CLOSED }

    private final String id;
    private final ListenerContext context;
    private final SessionRegistry registry;
    private final SessionObserver observer;
    private final ConnectionGuard guard;
    private final long acceptNanos = System.nanoTime();
    private final long acceptEpochMillis = System.currentTimeMillis();
    private final List<Backend> tried = new ArrayList<>(3);

    private Channel client;
    private InetSocketAddress clientAddress;
    /** The client's address for log lines, formatted only when a line is actually written. */
    private final Object clientLabel = new Object() {
        @Override
        public String toString() {
            return Addresses.format(clientAddress);
        }
    };
    /** The address the client connected to: the listener's socket, or the one a PROXY header names. */
    private InetSocketAddress destination;
    private Admission admission;
    /** Client bytes read before forwarding starts (those after a PROXY header), written to the relay first. */
    private ByteBuf earlyClientBytes;
    private int proxyHeaderBytes;
    private Channel relay;
    private Backend backend;
    private State state = State.CONNECTING;
    private ScheduledFuture<?> timer;
    private ByteBuf greeting;
    private int greetingCode;
    private long connectNanos = -1;
    /** Whether a direction may switch to splice(2): forwarding = splice on the epoll transport. */
    private boolean spliceAllowed;
    private boolean clientSpliced;
    private boolean relaySpliced;
    private long copiedFromClient;
    private long copiedFromRelay;
    private boolean clientInputDone;
    private boolean relayInputDone;
    private int outputsShut;
    private CloseReason firstEnd;
    private long lastActivityNanos = acceptNanos;
    private final CountingRecvByteBufAllocator clientReads = new CountingRecvByteBufAllocator();
    /** Bytes read directly from a spliced socket after its FIN; the allocators do not see them. */
    private long drainedFromClient;
    private long drainedFromRelay;
    /** Length of the 421 or 554 line smtplb itself wrote to a client it turned away. */
    private int replyBytes;
    private CountingRecvByteBufAllocator relayReadsInUse;

    ClientSession(String id, ListenerContext context, SessionRegistry registry, SessionObserver observer,
                  ConnectionGuard guard) {
        this.id = id;
        this.context = context;
        this.registry = registry;
        this.observer = observer;
        this.guard = guard;
    }

    String id() {
        return id;
    }

    Backend backend() {
        return backend;
    }

    Channel clientChannel() {
        return client;
    }

    /** Returns the relay connection, or {@code null} before one is connected; for tests of its socket options. */
    Channel relayChannel() {
        return relay;
    }

    // ---- client side events -------------------------------------------------------------------------------

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        client = ctx.channel();
        client.config().setRecvByteBufAllocator(clientReads);
        clientAddress = Addresses.normalize((InetSocketAddress) client.remoteAddress());
        destination = Addresses.normalize((InetSocketAddress) client.localAddress());
        registry.add(this);
        observer.onAccepted(context.name());
        log.debug("{} {} accepted on listener {}", id, clientLabel, context.name());
        if (context.listener().acceptProxy()) {
            // The balancer in front speaks first; ProxyHeaderGate reports its header with a ProxyHeaderEvent.
            state = State.IDENTIFYING;
            return;
        }
        admitAndConnect();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf data = (ByteBuf) msg;
        if (state.compareTo(State.FORWARDING) < 0) {
            holdEarlyBytes(data);
            return;
        }
        forward(data, relay, true);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        flushAndThrottle(client, relay);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        resumeIfWritable(client, relay, relayInputDone);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
        if (event instanceof ChannelInputShutdownEvent) {
            onInputShutdown(client, relay, true);
        } else if (event instanceof ProxyHeaderEvent header) {
            onProxyHeader(header);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (state == State.CLOSED || onLastInputEnded(client)) {
            return;
        }
        endFirst(CloseReason.CLIENT_CLOSED);
        closeAfterFlush(relay);
        close(firstEnd);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        onError("client", cause);
    }

    // ---- client identity and admission --------------------------------------------------------------------

    private void onProxyHeader(ProxyHeaderEvent header) {
        if (state != State.IDENTIFYING) {
            return;
        }
        if (header.outcome() != ProxyHeaderEvent.Outcome.RECEIVED) {
            log.debug("{} {}: PROXY header rejected ({}), closing", id, clientLabel,
                    header.detail());
            // TODO: a missing or invalid header counts as an error; CloseReason has no value of its own for it.
            CloseReason reason = header.outcome() == ProxyHeaderEvent.Outcome.UNTRUSTED
                    ? CloseReason.DENIED : CloseReason.ERROR;
            close(reason);
            return;
        }
        log.debug("{} {}: PROXY header names client {} and destination {}", id, clientLabel,
                Addresses.format(header.client()), Addresses.format(header.destination()));
        clientAddress = Addresses.normalize(header.client());
        destination = Addresses.normalize(header.destination());
        proxyHeaderBytes = header.headerBytes();
        state = State.CONNECTING;
        admitAndConnect();
    }

    private void admitAndConnect() {
        admission = guard.admit(context.listener(), clientAddress.getAddress());
        switch (admission.outcome()) {
            case ADMITTED -> connectNextRelay();
            case DENIED -> rejectDenied();
            default -> rejectOverLimit();
        }
    }

    /** Rejects a client whose address the listener does not allow: 554 and a close, or only a close. */
    private void rejectDenied() {
        log.debug("{} {}: denied on listener {}", id, clientLabel, context.name());
        if (context.listener().denyAction() == ListenerSettings.DenyAction.CLOSE) {
            close(CloseReason.DENIED);
            return;
        }
        replyAndClose(CloseReason.DENIED, "554 5.7.1 " + context.hostname() + " Access denied");
    }

    private void rejectOverLimit() {
        if (overLimitLog.tryLog(System.nanoTime())) {
            log.info("{} {}: rejected on listener {} with 421: {} ({} more rejections over a limit in the last {} s)",
                    id, clientLabel, context.name(), admission.detail(),
                    overLimitLog.takeSuppressed(), overLimitLog.intervalSeconds());
        } else {
            log.debug("{} {}: rejected with 421: {}", id, clientLabel, admission.detail());
        }
        replyAndClose(CloseReason.OVER_LIMIT,
                "421 4.7.0 " + context.hostname() + " Too many connections, try again later");
    }

    /**
     * Holds client bytes read before forwarding starts: those behind a PROXY header, and on epoll those that
     * arrive with an early FIN, which epoll reports (and Netty reads) even while reads are off.
     */
    private void holdEarlyBytes(ByteBuf data) {
        if (earlyClientBytes == null) {
            earlyClientBytes = data;
            return;
        }
        earlyClientBytes = client.alloc().compositeBuffer().addComponents(true, earlyClientBytes, data);
    }

    // ---- relay selection and connect ----------------------------------------------------------------------

    private void connectNextRelay() {
        PoolSettings pool = context.pool().settings();
        if (tried.size() >= pool.connectAttempts()) {
            reject(CloseReason.CONNECT_FAILED);
            return;
        }
        Backend next = context.pool().acquire(tried);
        if (next == null) {
            rejectForShortage();
            return;
        }
        backend = next;
        tried.add(next);
        state = State.CONNECTING;

        long startNanos = System.nanoTime();
        Channel channel;
        try {
            channel = newRelayChannel(pool, next.address());
        } catch (ChannelException e) {
            // No socket could be created (out of descriptors or memory).
            onRelayConnectFailed(next, e);
            return;
        }
        client.eventLoop().register(channel).addListener((ChannelFuture registered) -> {
            if (!registered.isSuccess()) {
                channel.unsafe().closeForcibly();
                onRelayConnectFailed(next, new ChannelException(registered.cause()));
                return;
            }
            channel.connect(next.address()).addListener((ChannelFuture f) -> onRelayConnect(f, next, startNanos));
        });
    }

    /**
     * Creates the relay channel, registered next on the client's event loop. The channel is built directly rather
     * than through a {@code Bootstrap}, which would add an option map, a resolver lookup and a task hop to every
     * connect.
     *
     * <p>The relay channel reads from the start: its greeting passes the greeting tap and decoder, which are in
     * place before the first read, and keeping reads on saves the epoll interest changes of explicit reads.
     *
     * @throws ChannelException when no socket can be created or configured
     */
    private Channel newRelayChannel(PoolSettings pool, InetSocketAddress target) {
        boolean keepalive = pool.tcpKeepalive().toSeconds() > 0;
        Channel channel;
        if (client instanceof EpollSocketChannel) {
            // An IPv4 relay gets an IPv4 socket, because a dual-stack IPv6 socket costs one more setsockopt.
            channel = new EpollSocketChannel(target.getAddress() instanceof Inet4Address
                    ? InternetProtocolFamily.IPv4 : InternetProtocolFamily.IPv6);
        } else {
            channel = new io.netty.channel.socket.nio.NioSocketChannel();
        }
        try {
            ChannelConfig config = channel.config();
            config.setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
            // With auto-close off, a failed write reaches the session as an exception, and the session closes the
            // socket through Closing, after the current batch of events.
            config.setAutoClose(false);
            config.setConnectTimeoutMillis((int) pool.connectTimeout().toMillis());
            config.setRecvByteBufAllocator(new CountingRecvByteBufAllocator());
            if (keepalive) {
                config.setOption(ChannelOption.SO_KEEPALIVE, true);
            }
            if (config instanceof EpollSocketChannelConfig epoll) {
                epoll.setEpollMode(EpollMode.LEVEL_TRIGGERED);
                if (keepalive) {
                    // No TCP_KEEPINTVL or TCP_KEEPCNT: with TCP_USER_TIMEOUT set, Linux drops the connection once
                    // a keepalive probe stays unanswered for that long, so two more setsockopt calls buy nothing.
                    epoll.setTcpKeepIdle((int) pool.tcpKeepalive().toSeconds());
                }
                if (!pool.tcpUserTimeout().isZero()) {
                    epoll.setTcpUserTimeout((int) pool.tcpUserTimeout().toMillis());
                }
            }
            channel.pipeline().addLast(new RelayHandler());
            if (pool.greetingFailover()) {
                channel.pipeline().addFirst("greeting-decoder", new SmtpResponseDecoder(MAX_REPLY_LINE_LENGTH));
                channel.pipeline().addFirst("greeting-tap", new GreetingTap());
            }
            return channel;
        } catch (RuntimeException e) {
            channel.unsafe().closeForcibly();
            throw e instanceof ChannelException channelException ? channelException : new ChannelException(e);
        }
    }

    private void onRelayConnect(ChannelFuture future, Backend target, long startNanos) {
        if (state == State.CLOSED) {
            Closing.later(future.channel());
            target.release();
            return;
        }
        if (!future.isSuccess()) {
            onRelayConnectFailed(target, future.cause());
            return;
        }
        relay = future.channel();
        relayReadsInUse = (CountingRecvByteBufAllocator) relay.config().getRecvByteBufAllocator();
        connectNanos = System.nanoTime() - startNanos;
        observer.onBackendConnected(target, connectNanos);
        log.debug("{} {} -> {}: connected in {} us", id, clientLabel, target,
                TimeUnit.NANOSECONDS.toMicros(connectNanos));
        ProxyHeader proxyHeader = RelayProxyHeader.versionFor(context.pool().settings(), target.name());
        // From here on the relay counts as connected: a close or error before its greeting fails over, and
        // close() gives its slot back.
        state = State.GREETING;
        Channel connected = relay;
        // The greeting handlers are in the pipeline before the PROXY header is written. No relay byte can pass them.
        if (context.pool().settings().greetingFailover()) {
            awaitGreeting();
        }
        if (proxyHeader != ProxyHeader.OFF) {
            RelayProxyHeader.write(relay, RelayProxyHeader.create(proxyHeader, clientAddress, destination))
                    .addListener((ChannelFuture f) -> onProxyHeaderWritten(f, connected));
        }
        if (!context.pool().settings().greetingFailover()) {
            startForwarding();
        }
    }

    private void onProxyHeaderWritten(ChannelFuture future, Channel connected) {
        if (state == State.CLOSED || relay != connected || future.isSuccess()) {
            return;
        }
        if (state == State.GREETING) {
            failOver(FailureReason.CLOSED_EARLY, "writing the PROXY header failed: " + future.cause().getMessage(),
                    false);
        } else {
            onError("relay", future.cause());
        }
    }

    private void onRelayConnectFailed(Backend target, Throwable cause) {
        target.release();
        if (cause instanceof ChannelException) {
            // No socket could be created (out of descriptors or memory): the relay is not at fault, so it gets no
            // passive failure, and another relay would fail the same way.
            onLocalResourceFailure(cause);
            return;
        }
        FailureReason reason = cause instanceof ConnectTimeoutException
                ? FailureReason.CONNECT_TIMEOUT : FailureReason.CONNECT_REFUSED;
        observer.onBackendConnectFailed(target, reason.label());
        target.reportPassiveFailure(reason, String.valueOf(cause.getMessage()));
        log.debug("{} {} -> {}: connect failed ({}): {}", id, clientLabel, target,
                reason.label(), cause.getMessage());
        backend = null;
        connectNextRelay();
    }

    // ---- greeting inspection ------------------------------------------------------------------------------

    private void awaitGreeting() {
        state = State.GREETING;
        greeting = relay.alloc().ioBuffer(256);
        long timeoutMillis = context.pool().settings().greetingTimeout().toMillis();
        timer = client.eventLoop().schedule(this::onGreetingTimeout, timeoutMillis, TimeUnit.MILLISECONDS);
    }

    private void onGreeting(SmtpResponse response) {
        greetingCode = response.code();
        observer.onGreeting(backend, greetingCode);
        if (greetingCode == 220) {
            backend.reportPassiveSuccess();
            state = State.GREETED;
            cancelTimer();
            // On removal the decoder passes on the bytes after the greeting, which the tap has copied already.
            // The tap starts forwarding when this read has passed the decoder.
            relay.pipeline().remove("greeting-decoder");
            return;
        }
        String text = Replies.text(response);
        FailureReason reason = greetingCode >= 500 ? FailureReason.GREETING_5XX : FailureReason.GREETING_4XX;
        failOver(reason, "greeting was \"" + text + "\"", true);
    }

    private void onGreetingTimeout() {
        if (state == State.GREETING) {
            failOver(FailureReason.GREETING_TIMEOUT, "no greeting within "
                    + context.pool().settings().greetingTimeout().toMillis() + " ms", false);
        }
    }

    /** Gives up on the current relay during the greeting and tries the next one. */
    private void failOver(FailureReason reason, String detail, boolean relaySpoke) {
        Backend failed = backend;
        log.debug("{} {} -> {}: {} ({}), trying another relay", id, clientLabel, failed,
                reason.label(), detail);
        cancelTimer();
        releaseGreeting();
        Channel oldRelay = relay;
        removeGreetingHandlers(oldRelay);
        relay = null;
        relayReadsInUse = null;
        backend = null;
        failed.release();
        failed.reportPassiveFailure(reason, detail);
        Lingering.quitAndClose(oldRelay, relaySpoke ? QUIT : null, RELAY_QUIT_WAIT_MILLIS);
        connectNextRelay();
    }

    private static void removeGreetingHandlers(Channel channel) {
        if (channel.pipeline().get("greeting-tap") != null) {
            channel.pipeline().remove("greeting-tap");
        }
        if (channel.pipeline().get("greeting-decoder") != null) {
            channel.pipeline().remove("greeting-decoder");
        }
    }

    // ---- forwarding ---------------------------------------------------------------------------------------

    private void startForwarding() {
        if (state == State.CLOSED) {
            return;
        }
        cancelTimer();
        state = State.FORWARDING;
        removeGreetingHandlers(relay);
        ByteBuf toSend = greeting;
        greeting = null;
        if (toSend == null || !toSend.isReadable()) {
            if (toSend != null) {
                toSend.release();
            }
            beginPumping();
            return;
        }
        client.writeAndFlush(toSend).addListener((ChannelFuture f) -> {
            if (f.isSuccess()) {
                beginPumping();
            } else {
                onError("client", f.cause());
            }
        });
    }

    /** Starts moving bytes both ways; the greeting, if any, has reached the client socket already. */
    private void beginPumping() {
        if (state != State.FORWARDING) {
            return;
        }
        spliceAllowed = context.forwarding() == ForwardingMode.SPLICE && client instanceof AbstractEpollStreamChannel;
        if (earlyClientBytes != null) {
            lastActivityNanos = System.nanoTime();
            relay.writeAndFlush(earlyClientBytes, relay.voidPromise());
            earlyClientBytes = null;
        }
        if (clientInputDone) {
            // The client sent its FIN behind its early commands; the relay gets it behind them too.
            shutdownOutputAfterFlush(relay, true);
        }
        // A side whose FIN came while the greeting was written stays without reads: a level-triggered socket at
        // end of stream would wake the event loop again and again.
        if (!clientInputDone) {
            client.config().setAutoRead(true);
        }
        if (!relayInputDone) {
            relay.config().setAutoRead(true);
        }
        scheduleIdleCheck(context.idleTimeout().toMillis());
    }

    private void onSpliceEnded(io.netty.util.concurrent.Future<? super Void> future) {
        Throwable cause = future.cause();
        if (cause != null && !(cause instanceof ClosedChannelException) && state != State.CLOSED) {
            onError("splice", cause);
        }
    }

    private void forward(ByteBuf data, Channel to, boolean fromClient) {
        if (state != State.FORWARDING || to == null) {
            data.release();
            return;
        }
        lastActivityNanos = System.nanoTime();
        int length = data.readableBytes();
        to.write(data, to.voidPromise());
        if (!spliceAllowed) {
            return;
        }
        if (fromClient && !clientSpliced && (copiedFromClient += length) >= SPLICE_AFTER_BYTES) {
            clientSpliced = true;
            startSplice(client, to);
        } else if (!fromClient && !relaySpliced && (copiedFromRelay += length) >= SPLICE_AFTER_BYTES) {
            relaySpliced = true;
            startSplice(relay, to);
        }
    }

    /**
     * Switches one direction to splice(2) from the next read on. Netty's epoll read loop looks for a queued
     * splice before every read, and the spliced bytes are queued on the target channel behind the copied
     * ones already written, so the order of bytes is kept.
     */
    private void startSplice(Channel from, Channel to) {
        from.config().setAutoRead(true);
        // The end of a spliced input needs the half-closure path, which reads what the last splice left behind.
        from.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
        ((AbstractEpollStreamChannel) from).spliceTo((AbstractEpollStreamChannel) to, Integer.MAX_VALUE)
                .addListener(this::onSpliceEnded);
    }

    private boolean isSpliced(Channel source) {
        return source == client ? clientSpliced : relaySpliced;
    }

    private void flushAndThrottle(Channel from, Channel to) {
        if (state != State.FORWARDING || to == null) {
            return;
        }
        to.flush();
        if (!isSpliced(from) && !to.isWritable()) {
            // Back-pressure: stop reading until the other side drains (channelWritabilityChanged resumes).
            from.config().setAutoRead(false);
        }
    }

    private void resumeIfWritable(Channel writable, Channel reader, boolean readerDone) {
        if (state == State.FORWARDING && reader != null && !isSpliced(reader) && writable.isWritable() && !readerDone) {
            reader.config().setAutoRead(true);
        }
    }

    /**
     * Forwards the end of one direction: everything read before the FIN is written to the other side, then
     * that side's output is shut down.
     */
    private void onInputShutdown(Channel from, Channel to, boolean fromClient) {
        if (state != State.FORWARDING) {
            if (fromClient && state != State.CLOSED) {
                onClientFinBeforeForwarding();
            }
            return;
        }
        if (fromClient) {
            clientInputDone = true;
        } else {
            relayInputDone = true;
        }
        endFirst(fromClient ? CloseReason.CLIENT_CLOSED : CloseReason.RELAY_CLOSED);
        // Reads stay off from here: a drained, half-closed socket would otherwise wake epoll continuously.
        from.config().setAutoRead(false);
        if (isSpliced(from)) {
            drainSplicedInput((AbstractEpollStreamChannel) from, to, fromClient, 0);
            return;
        }
        shutdownOutputAfterFlush(to, fromClient);
    }

    /**
     * Handles a client FIN that came before forwarding started. A client that sent nothing has left (a TCP check
     * connects and closes at once), so the session ends. A client that sent commands and then closed its sending
     * side still waits for the replies: its bytes and its FIN go to the relay once the relay has greeted.
     */
    private void onClientFinBeforeForwarding() {
        endFirst(CloseReason.CLIENT_CLOSED);
        if (earlyClientBytes == null || state == State.IDENTIFYING) {
            close(CloseReason.CLIENT_CLOSED);
            return;
        }
        clientInputDone = true;
    }

    private void shutdownOutputAfterFlush(Channel to, boolean fromClient) {
        to.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener((ChannelFuture f) -> {
            if (!f.isSuccess()) {
                onError(fromClient ? "relay" : "client", f.cause());
                return;
            }
            if (clientInputDone && relayInputDone && outputsShut >= 1) {
                // The last direction to end: everything is flushed and both sides have sent FIN, so closing
                // sends this side's FIN as well. It saves a shutdown(2) and the exception Netty builds for it.
                close(firstEnd);
                return;
            }
            shutdownOutput(to);
        });
    }

    /**
     * Sends FIN on a channel whose pending writes are flushed. On epoll the socket is shut down directly: Netty's
     * {@code shutdownOutput()} builds an exception with a stack trace for every call, to fail writes that this
     * session never queues after the end of a direction.
     *
     * <p>When the channel's own input is still open and copied, half-closure is switched off for it. Its end of
     * stream then closes it, which saves a shutdown(2) call and the exception Netty builds when that call fails
     * after both sides have sent FIN. {@link #onLastInputEnded} then finishes the session.
     */
    private void shutdownOutput(Channel to) {
        boolean inputOpen = to == client ? !clientInputDone : !relayInputDone;
        if (inputOpen && !isSpliced(to)) {
            to.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, false);
        }
        if (!(to instanceof AbstractEpollStreamChannel epoll)) {
            ((DuplexChannel) to).shutdownOutput().addListener(done -> onOutputShut());
            return;
        }
        try {
            ((io.netty.channel.unix.Socket) epoll.fd()).shutdown(false, true);
        } catch (IOException e) {
            onError(to == client ? "client" : "relay", e);
            return;
        } catch (java.nio.channels.NotYetConnectedException e) {
            // ENOTCONN: the peer has already closed the connection completely, as a client may do once it has
            // read the 221. No FIN can be sent any more, and the close that follows frees the socket.
        }
        onOutputShut();
    }

    /**
     * Ends a session whose last open direction reached end of stream on a channel without half-closure: Netty has
     * closed that channel after passing on every byte read before the FIN. Those bytes are flushed to the other
     * side, which has already sent its FIN, and then both are closed.
     *
     * @return whether the session ended this way
     */
    private boolean onLastInputEnded(Channel ended) {
        boolean otherDone = ended == client ? relayInputDone : clientInputDone;
        if (state != State.FORWARDING || !otherDone) {
            return false;
        }
        if (ended == client) {
            clientInputDone = true;
        } else {
            relayInputDone = true;
        }
        Channel other = ended == client ? relay : client;
        if (other == null || !other.isActive()) {
            close(firstEnd);
            return true;
        }
        other.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(f -> close(firstEnd));
        return true;
    }

    /**
     * Reads what is left in a spliced socket after its FIN. Netty reports the end of stream after the first
     * spliced batch while more bytes can still wait in the socket. They are read here directly until read(2)
     * returns end of stream, and written after the spliced bytes already queued on the other channel.
     */
    private void drainSplicedInput(AbstractEpollStreamChannel from, Channel to, boolean fromClient, int retries) {
        if (state != State.FORWARDING) {
            return;
        }
        try {
            for (;;) {
                ByteBuf chunk = to.alloc().directBuffer(DRAIN_CHUNK_BYTES);
                int read = readDirect(from, chunk);
                if (read < 0) {
                    chunk.release();
                    shutdownOutputAfterFlush(to, fromClient);
                    return;
                }
                if (read == 0) {
                    chunk.release();
                    // EAGAIN: the FIN was reported before the kernel queued it behind the data. Wait for it
                    // rather than cut the stream, but only for a bounded time.
                    if (retries >= DRAIN_MAX_RETRIES) {
                        log.debug("{} end of stream not readable after {} ms, closing", id, DRAIN_MAX_RETRIES);
                        shutdownOutputAfterFlush(to, fromClient);
                        return;
                    }
                    to.flush();
                    client.eventLoop().schedule(() -> drainSplicedInput(from, to, fromClient, retries + 1),
                            1, TimeUnit.MILLISECONDS);
                    return;
                }
                chunk.writerIndex(chunk.writerIndex() + read);
                lastActivityNanos = System.nanoTime();
                if (fromClient) {
                    drainedFromClient += read;
                } else {
                    drainedFromRelay += read;
                }
                to.write(chunk, to.voidPromise());
            }
        } catch (IOException e) {
            log.debug("{} reading the rest of a half-closed socket failed: {}", id, e.getMessage());
            shutdownOutputAfterFlush(to, fromClient);
        }
    }

    private static int readDirect(AbstractEpollStreamChannel channel, ByteBuf buffer) throws IOException {
        int start = buffer.writerIndex();
        if (buffer.hasMemoryAddress()) {
            return channel.fd().readAddress(buffer.memoryAddress(), start, buffer.capacity());
        }
        java.nio.ByteBuffer nio = buffer.internalNioBuffer(start, buffer.writableBytes());
        return channel.fd().read(nio, nio.position(), nio.limit());
    }

    private void onOutputShut() {
        outputsShut++;
        if (outputsShut == 2 && state != State.CLOSED) {
            close(firstEnd);
        }
    }

    // ---- timers -------------------------------------------------------------------------------------------

    private void scheduleIdleCheck(long delayMillis) {
        timer = client.eventLoop().schedule(this::checkIdle, Math.max(1, delayMillis), TimeUnit.MILLISECONDS);
    }

    private void checkIdle() {
        if (state != State.FORWARDING) {
            return;
        }
        long idleLimitMillis = context.idleTimeout().toMillis();
        long idleMillis = idleMillis();
        if (idleMillis >= idleLimitMillis) {
            log.debug("{} {} -> {}: idle for {} ms, closing", id, clientLabel, backend,
                    idleMillis);
            close(CloseReason.IDLE_TIMEOUT);
            return;
        }
        scheduleIdleCheck(idleLimitMillis - idleMillis);
    }

    /** Time since the last byte moved in either direction, from the kernel's counters when splicing. */
    private long idleMillis() {
        long sinceCopy = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - lastActivityNanos);
        if (!clientSpliced && !relaySpliced) {
            return sinceCopy;
        }
        return Math.min(sinceCopy, Math.min(kernelIdleMillis(client), kernelIdleMillis(relay)));
    }

    private static long kernelIdleMillis(Channel channel) {
        if (!(channel instanceof EpollSocketChannel epoll) || !channel.isOpen()) {
            return Long.MAX_VALUE;
        }
        EpollTcpInfo info = epoll.tcpInfo();
        return Math.min(info.lastDataRecv(), info.lastDataSent());
    }

    private void cancelTimer() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    // ---- endings ------------------------------------------------------------------------------------------

    private void rejectForShortage() {
        switch (context.pool().shortage(tried)) {
            case NO_BACKEND_UP -> reject(CloseReason.NO_BACKEND);
            case ALL_FULL -> reject(CloseReason.OVER_LIMIT);
            default -> reject(CloseReason.CONNECT_FAILED);
        }
    }

    /** Sends the 421 line and closes the client cleanly. */
    private void reject(CloseReason reason) {
        log.debug("{} {}: no relay can take the client ({}), sending 421", id, clientLabel,
                reason.label());
        replyAndClose(reason, "421 " + context.hostname() + " Service not available, try again later");
    }

    /** Ends the session with one reply line to the client, then a polite close. */
    private void replyAndClose(CloseReason reason, String reply) {
        ByteBuf line = Unpooled.copiedBuffer(reply + "\r\n", StandardCharsets.US_ASCII);
        Channel rejected = client;
        replyBytes = line.readableBytes();
        close(reason, false);
        Lingering.replyAndClose(rejected, line, LINGER_AFTER_REJECT_MILLIS);
    }

    /** Turns the client away when this process ran out of descriptors or memory for the relay socket. */
    private void onLocalResourceFailure(Throwable cause) {
        if (resourceLog.tryLog(System.nanoTime())) {
            log.warn("{} {}: cannot open a relay connection: {}; clients get 421 until resources free up "
                    + "({} similar failures in the last {} s)", id, clientLabel,
                    rootMessage(cause), resourceLog.takeSuppressed(), resourceLog.intervalSeconds());
        }
        backend = null;
        reject(CloseReason.OVER_LIMIT);
    }

    private static String rootMessage(Throwable cause) {
        Throwable root = cause;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return String.valueOf(root.getMessage());
    }

    /** Closes the other side once everything already written to it has been flushed. */
    private static void closeAfterFlush(Channel channel) {
        if (channel != null && channel.isActive()) {
            channel.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(f -> Closing.later(channel));
        }
    }

    private void onError(String side, Throwable cause) {
        if (state == State.CLOSED) {
            return;
        }
        if (cause instanceof IOException) {
            log.debug("{} {} -> {}: {} connection failed: {}", id, clientLabel, backend, side,
                    cause.getMessage());
        } else if (cause instanceof OutOfMemoryError) {
            // Out of direct memory: this session ends, the process and the other sessions go on.
            if (resourceLog.tryLog(System.nanoTime())) {
                log.warn("{} {} -> {}: out of memory on the {} side: {}; closing the session ({} similar failures "
                        + "in the last {} s)", id, clientLabel, backend, side, cause.getMessage(),
                        resourceLog.takeSuppressed(), resourceLog.intervalSeconds());
            }
        } else {
            log.warn("{} {} -> {}: unexpected error on the {} side", id, clientLabel, backend,
                    side, cause);
        }
        if (state == State.GREETING && cause instanceof OutOfMemoryError) {
            // This process is short of memory and the relay is not at fault, so the relay gets no passive
            // failure and the client gets 421, the SMTP reply for "try again later".
            reject(CloseReason.ERROR);
            return;
        }
        if (state == State.GREETING && "relay".equals(side)) {
            failOver(FailureReason.CLOSED_EARLY, String.valueOf(cause.getMessage()), false);
            return;
        }
        endFirst(CloseReason.ERROR);
        closeAfterFlush(relay);
        closeAfterFlush(client);
        close(firstEnd);
    }

    private void endFirst(CloseReason reason) {
        if (firstEnd == null) {
            firstEnd = reason;
        }
    }

    /** Closes both sides now, for shutdown, drain deadlines and admin actions. */
    void closeNow(CloseReason reason) {
        if (client.eventLoop().inEventLoop()) {
            close(reason);
        } else {
            client.eventLoop().execute(() -> close(reason));
        }
    }

    private void close(CloseReason reason) {
        close(reason, true);
    }

    private void close(CloseReason reason, boolean closeClient) {
        if (state == State.CLOSED) {
            return;
        }
        State previous = state;
        state = State.CLOSED;
        cancelTimer();
        releaseGreeting();
        releaseEarlyBytes();
        if (admission != null) {
            admission.release();
        }
        if (relay != null) {
            Closing.later(relay);
        }
        if (closeClient) {
            Closing.later(client);
        }
        if (backend != null && previous != State.CONNECTING) {
            backend.release();
        }
        registry.remove(this);
        observer.onClosed(record(reason));
        log.debug("{} {} -> {}: closed ({}), {} bytes from client, {} bytes to client", id,
                clientLabel, backend, reason.label(), bytesFromClient(), bytesToClient());
    }

    private SessionRecord record(CloseReason reason) {
        boolean carried = backend != null && relay != null;
        return new SessionRecord(id, acceptEpochMillis, clientAddress, context.name(), context.pool().name(),
                carried ? backend.name() : null, carried ? backend.address() : null, tried.size(),
                carried ? connectNanos : -1, greetingCode, System.nanoTime() - acceptNanos,
                bytesFromClient(), bytesToClient(), reason);
    }

    /** Bytes read from the client, all forwarded to the relay unless the session broke. */
    private long bytesFromClient() {
        return clientReads.bytesRead() - proxyHeaderBytes + drainedFromClient;
    }

    /** Bytes read from the carrying relay (greeting included), all forwarded to the client. */
    private long bytesToClient() {
        return (relayReadsInUse == null ? 0 : relayReadsInUse.bytesRead()) + drainedFromRelay + replyBytes;
    }

    private void releaseEarlyBytes() {
        if (earlyClientBytes != null) {
            earlyClientBytes.release();
            earlyClientBytes = null;
        }
    }

    private void releaseGreeting() {
        if (greeting != null) {
            greeting.release();
            greeting = null;
        }
    }

    // ---- relay side ---------------------------------------------------------------------------------------

    /**
     * Copies every raw greeting byte before the decoder parses it, so the client gets the same bytes, including
     * any that came in the same read behind the greeting. Once the read has passed the decoder and the greeting
     * was complete, forwarding starts.
     */
    private final class GreetingTap extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf data = (ByteBuf) msg;
            if (state == State.GREETING && greeting != null) {
                if (greeting.readableBytes() + data.readableBytes() > MAX_GREETING_BYTES) {
                    data.release();
                    failOver(FailureReason.NOT_SMTP, "greeting longer than " + MAX_GREETING_BYTES + " bytes", true);
                    return;
                }
                greeting.writeBytes(data, data.readerIndex(), data.readableBytes());
            }
            ctx.fireChannelRead(msg);
            if (state == State.GREETED) {
                startForwarding();
            }
        }
    }

    /** Handles the relay channel: its greeting first, then forwarding events. */
    private final class RelayHandler extends ChannelInboundHandlerAdapter {

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (ctx.channel() != relay) {
                io.netty.util.ReferenceCountUtil.release(msg);
                return;
            }
            if (msg instanceof SmtpResponse response) {
                if (state == State.GREETING) {
                    onGreeting(response);
                }
                return;
            }
            if (state == State.GREETING || state == State.GREETED) {
                // Bytes the decoder held back when it was removed; the tap already copied them.
                ((ByteBuf) msg).release();
                return;
            }
            forward((ByteBuf) msg, client, false);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            if (ctx.channel() != relay) {
                return;
            }
            if (state == State.FORWARDING) {
                flushAndThrottle(relay, client);
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (ctx.channel() == relay) {
                resumeIfWritable(relay, client, clientInputDone);
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
            if (ctx.channel() != relay || !(event instanceof ChannelInputShutdownEvent)) {
                return;
            }
            if (state == State.GREETING) {
                failOver(FailureReason.CLOSED_EARLY, "relay closed the connection before its greeting", false);
                return;
            }
            onInputShutdown(relay, client, false);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (ctx.channel() != relay || state == State.CLOSED || onLastInputEnded(relay)) {
                return;
            }
            if (state == State.GREETING) {
                failOver(FailureReason.CLOSED_EARLY, "relay closed the connection before its greeting", false);
                return;
            }
            endFirst(CloseReason.RELAY_CLOSED);
            closeAfterFlush(client);
            close(firstEnd, false);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (ctx.channel() != relay) {
                return;
            }
            if (state == State.GREETING && !(cause instanceof IOException) && !(cause instanceof OutOfMemoryError)) {
                failOver(FailureReason.NOT_SMTP, "greeting is not an SMTP reply: " + cause.getMessage(), true);
                return;
            }
            onError("relay", cause);
        }
    }
}
