package io.smtplb.admin;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.timeout.ReadTimeoutException;
import io.smtplb.SmtpLoadBalancer;
import io.smtplb.balance.Backend.AdminState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.List;
import java.util.function.Supplier;

/**
 * Routes admin HTTP requests. Read-only resources accept GET (and HEAD); changes need POST and, when
 * {@code admin.token} is set, {@code Authorization: Bearer <token>}.
 *
 * <pre>
 * GET  /                                        status page (HTML)
 * GET  /health                                  200 or 503, reasons as text
 * GET  /metrics                                 Prometheus text format, or OpenMetrics when asked
 * GET  /api/state                               JSON
 * POST /api/pools/{pool}/backends/{backend}/{drain|maintenance|ready}[?deadline=30s]
 * POST /api/reload
 * </pre>
 *
 * <p>Runs on the admin event loop. Every request is served there except a reload, which reads the file and
 * resolves host names on the balancer's reload thread and responds when that is done.
 */
@ChannelHandler.Sharable
final class AdminHandler extends SimpleChannelInboundHandler<FullHttpRequest> {

    private static final Logger log = LoggerFactory.getLogger(AdminHandler.class);
    private static final String TEXT = "text/plain; charset=utf-8";
    private static final String JSON = "application/json";
    private static final String HTML = "text/html; charset=utf-8";
    private static final String BACKENDS_PREFIX = "/api/pools/";

    private final SmtpLoadBalancer balancer;
    private final BackendAdmin backendAdmin;
    private final Supplier<String> token;

    /** The response to one request; {@code allow} lists the methods for a 405, else {@code null}. */
    private record Reply(HttpResponseStatus status, String contentType, byte[] body, String allow) {
        static Reply text(HttpResponseStatus status, String text) {
            return of(status, TEXT, text);
        }

        static Reply of(HttpResponseStatus status, String contentType, String body) {
            return new Reply(status, contentType, body.getBytes(StandardCharsets.UTF_8), null);
        }
    }

    AdminHandler(SmtpLoadBalancer balancer, BackendAdmin backendAdmin, Supplier<String> token) {
        this.balancer = balancer;
        this.backendAdmin = backendAdmin;
        this.token = token;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
        if (!request.decoderResult().isSuccess()) {
            send(ctx, request, Reply.text(HttpResponseStatus.BAD_REQUEST, "malformed HTTP request\n"));
            return;
        }
        String path = new QueryStringDecoder(request.uri()).path();
        if (path.equals("/api/reload") && request.method().equals(HttpMethod.POST)) {
            reload(ctx, request);
            return;
        }
        send(ctx, request, route(request, path));
    }

    private Reply route(FullHttpRequest request, String path) {
        boolean read = request.method().equals(HttpMethod.GET) || request.method().equals(HttpMethod.HEAD);
        switch (path) {
            case "/", "/health", "/metrics", "/api/state" -> {
                return read ? get(request, path) : notAllowed("GET, HEAD");
            }
            case "/api/reload" -> {
                return notAllowed("POST");
            }
            default -> {
                if (path.startsWith(BACKENDS_PREFIX)) {
                    return request.method().equals(HttpMethod.POST) ? backendAction(request, path)
                            : notAllowed("POST");
                }
                return Reply.text(HttpResponseStatus.NOT_FOUND, "not found: " + path + "\n");
            }
        }
    }

    private Reply get(FullHttpRequest request, String path) {
        return switch (path) {
            case "/metrics" -> metrics(request);
            case "/health" -> health();
            case "/api/state" -> Reply.of(HttpResponseStatus.OK, JSON, StateJson.state(capture()));
            default -> Reply.of(HttpResponseStatus.OK, HTML, StatusPage.render(capture()));
        };
    }

    private BalancerState capture() {
        return BalancerState.capture(balancer, backendAdmin);
    }

    private Reply health() {
        HealthReport report = HealthReport.of(capture());
        HttpResponseStatus status = report.healthy() ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE;
        return Reply.text(status, report.body());
    }

    private Reply metrics(FullHttpRequest request) {
        ByteBuf buffer = Unpooled.buffer(64 * 1024);
        try (ByteBufOutputStream out = new ByteBufOutputStream(buffer)) {
            String contentType = balancer.metrics().write(request.headers().get(HttpHeaderNames.ACCEPT), out);
            byte[] body = new byte[buffer.readableBytes()];
            buffer.readBytes(body);
            return new Reply(HttpResponseStatus.OK, contentType, body, null);
        } catch (IOException e) {
            log.warn("admin: writing metrics failed: {}", e.toString(), e);
            return Reply.text(HttpResponseStatus.INTERNAL_SERVER_ERROR, "writing metrics failed: " + e + "\n");
        } finally {
            buffer.release();
        }
    }

    /** Handles {@code /api/pools/{pool}/backends/{backend}/{action}}. */
    private Reply backendAction(FullHttpRequest request, String path) {
        Reply denied = authorize(request);
        if (denied != null) {
            return denied;
        }
        String[] parts = path.substring(BACKENDS_PREFIX.length()).split("/", -1);
        if (parts.length != 4 || !parts[1].equals("backends")) {
            return Reply.text(HttpResponseStatus.NOT_FOUND, "not found: " + path
                    + " (expected: /api/pools/{pool}/backends/{backend}/{drain|maintenance|ready})\n");
        }
        String pool = QueryStringDecoder.decodeComponent(parts[0]);
        String backend = QueryStringDecoder.decodeComponent(parts[2]);
        try {
            AdminState state = action(parts[3]);
            Duration deadline = deadline(request);
            BackendAdmin.Change change = backendAdmin.setState(pool, backend, state, deadline);
            return Reply.of(HttpResponseStatus.OK, JSON, StateJson.adminChange(change));
        } catch (BackendAdmin.NotFoundException e) {
            return Reply.text(HttpResponseStatus.NOT_FOUND, e.getMessage() + "\n");
        } catch (IllegalArgumentException e) {
            return Reply.text(HttpResponseStatus.BAD_REQUEST, e.getMessage() + "\n");
        }
    }

    private static AdminState action(String name) {
        return switch (name) {
            case "drain" -> AdminState.DRAIN;
            case "maintenance" -> AdminState.MAINTENANCE;
            case "ready" -> AdminState.READY;
            default -> throw new IllegalArgumentException("action: " + name
                    + " (expected: drain, maintenance or ready)");
        };
    }

    private static Duration deadline(FullHttpRequest request) {
        List<String> values = new QueryStringDecoder(request.uri()).parameters().get("deadline");
        if (values == null || values.isEmpty() || values.get(0).isEmpty()) {
            return null;
        }
        return Durations.parse("deadline", values.get(0));
    }

    private void reload(ChannelHandlerContext ctx, FullHttpRequest request) {
        Reply denied = authorize(request);
        if (denied != null) {
            send(ctx, request, denied);
            return;
        }
        request.retain();
        balancer.reloadAsync().whenComplete((result, error) -> ctx.executor().execute(() -> {
            try {
                if (error != null) {
                    send(ctx, request, Reply.text(HttpResponseStatus.INTERNAL_SERVER_ERROR,
                            "reload failed: " + error + "\n"));
                    return;
                }
                HttpResponseStatus status = result.applied() ? HttpResponseStatus.OK
                        : HttpResponseStatus.UNPROCESSABLE_ENTITY;
                send(ctx, request, Reply.of(status, JSON, StateJson.reload(result)));
            } finally {
                request.release();
            }
        }));
    }

    /** Returns a 401 reply when a token is configured and the request does not carry it, else {@code null}. */
    private Reply authorize(FullHttpRequest request) {
        String expected = token.get();
        if (expected == null) {
            return null;
        }
        String header = request.headers().get(HttpHeaderNames.AUTHORIZATION);
        byte[] presented = header == null ? new byte[0] : header.getBytes(StandardCharsets.UTF_8);
        byte[] required = ("Bearer " + expected).getBytes(StandardCharsets.UTF_8);
        // Constant-time comparison, so response timing does not reveal how much of a guess was right.
        if (MessageDigest.isEqual(presented, required)) {
            return null;
        }
        String reason = header == null ? "missing Authorization header" : "wrong token";
        log.warn("admin: {} {} rejected: {}", request.method(), request.uri(), reason);
        return Reply.text(HttpResponseStatus.UNAUTHORIZED, "unauthorized: " + reason
                + " (expected: Authorization: Bearer <admin.token>)\n");
    }

    private static Reply notAllowed(String allowed) {
        String text = "method not allowed (expected: " + allowed + ")\n";
        return new Reply(HttpResponseStatus.METHOD_NOT_ALLOWED, TEXT, text.getBytes(StandardCharsets.UTF_8), allowed);
    }

    private static void send(ChannelHandlerContext ctx, FullHttpRequest request, Reply reply) {
        boolean head = request.method().equals(HttpMethod.HEAD);
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, reply.status(),
                head ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(reply.body()));
        response.headers()
                .set(HttpHeaderNames.CONTENT_TYPE, reply.contentType())
                .set(HttpHeaderNames.CONTENT_LENGTH, reply.body().length)
                .set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE);
        if (reply.status().equals(HttpResponseStatus.UNAUTHORIZED)) {
            response.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer realm=\"smtplb\"");
        }
        if (reply.allow() != null) {
            response.headers().set(HttpHeaderNames.ALLOW, reply.allow());
        }
        boolean keepAlive = HttpUtil.isKeepAlive(request);
        HttpUtil.setKeepAlive(response, keepAlive);
        if (keepAlive) {
            ctx.writeAndFlush(response, ctx.voidPromise());
        } else {
            ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (!(cause instanceof ReadTimeoutException) && !(cause instanceof IOException)) {
            log.warn("admin: request from {} failed: {}", ctx.channel().remoteAddress(), cause.toString(), cause);
        }
        ctx.close();
    }
}
