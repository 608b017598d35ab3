package io.smtplb.guard;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.concurrent.TimeUnit;

/**
 * Handles failed accepts on a listener's server sockets, above all running out of file descriptors (EMFILE,
 * ENFILE): stop accepting for a short pause, log one rate-limited WARN, and resume.
 *
 * <p>Netty 4.1 passes an accept error to the server channel's pipeline as an exception, on epoll and NIO alike,
 * while the connection stays in the kernel's accept queue. Accepting again at once would fail again at once, a
 * busy loop. Netty's own {@code ServerBootstrapAcceptor} pauses for 1 s and lets the exception reach the end of
 * the pipeline, where Netty logs it once per failure. This handler sits before the acceptor (a
 * {@code ServerBootstrap.handler}), takes the error, pauses accepting for {@link #PAUSE_MILLIS} and writes at most
 * one WARN per {@link #LOG_INTERVAL_MILLIS} with the number of failures since the last one. Queued clients are
 * accepted as soon as descriptors are free again and the pause has ended.
 *
 * <p>One instance serves all server sockets of a balancer. Everything the error path needs is created up front:
 * with no descriptor left, loading a class from a jar can fail too.
 */
@Sharable
public final class AcceptErrorHandler extends ChannelInboundHandlerAdapter {

    /** Pause after a failed accept; short enough that queued clients barely notice. */
    static final long PAUSE_MILLIS = 250;
    static final long LOG_INTERVAL_MILLIS = 10_000;

    private static final Logger log = LoggerFactory.getLogger(AcceptErrorHandler.class);

    private final LogThrottle throttle = new LogThrottle(LOG_INTERVAL_MILLIS);
    private final String listener;

    /** Creates the handler for the server sockets of {@code listener}. */
    public AcceptErrorHandler(String listener) {
        this.listener = listener;
        Resume.load();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (!(cause instanceof IOException)) {
            ctx.fireExceptionCaught(cause);
            return;
        }
        Channel server = ctx.channel();
        if (server.config().isAutoRead()) {
            server.config().setAutoRead(false);
            ctx.executor().schedule(new Resume(server), PAUSE_MILLIS, TimeUnit.MILLISECONDS);
        }
        if (throttle.tryLog(System.nanoTime())) {
            log.warn("listener {}: accepting a connection failed: {}; pausing accepts for {} ms, clients wait in the "
                    + "accept queue ({} more failures in the last {} s). If descriptors ran out, raise the open files "
                    + "limit (LimitNOFILE) or lower max-connections.", listener, cause.getMessage(), PAUSE_MILLIS,
                    throttle.takeSuppressed(), throttle.intervalSeconds());
        }
    }

    /** Turns accepting back on; a named class so that it is loaded before descriptors run out. */
    private static final class Resume implements Runnable {
        private final Channel server;

        Resume(Channel server) {
            this.server = server;
        }

        /** Does nothing; calling it loads the class while descriptors are still available. */
        static void load() {
        }

        @Override
        public void run() {
            if (server.isOpen()) {
                server.config().setAutoRead(true);
            }
        }
    }
}
