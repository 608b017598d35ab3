package io.smtplb.testing;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Plain HTTP requests to a balancer's admin endpoint, as an operator's tools send them. */
public final class AdminClient {

    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final String base;
    private final String token;

    /** Creates a client; {@code token} is sent as a bearer token when not {@code null}. */
    public AdminClient(InetSocketAddress admin, String token) {
        this.base = "http://127.0.0.1:" + admin.getPort();
        this.token = token;
    }

    public HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return client.send(request(path).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Sends a GET with an {@code Accept} header. */
    public HttpResponse<String> get(String path, String accept) throws IOException, InterruptedException {
        return client.send(request(path).header("Accept", accept).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    public HttpResponse<String> post(String path) throws IOException, InterruptedException {
        return client.send(request(path).POST(HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** Scrapes {@code /metrics} and parses it strictly. */
    public MetricsText metrics() throws IOException, InterruptedException {
        HttpResponse<String> response = get("/metrics");
        if (response.statusCode() != 200) {
            throw new IOException("GET /metrics: HTTP " + response.statusCode() + " (expected: 200)");
        }
        return MetricsText.parse(response.body());
    }

    private HttpRequest.Builder request(String path) {
        HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create(base + path)).timeout(TIMEOUT);
        if (token != null) {
            builder.header("Authorization", "Bearer " + token);
        }
        return builder;
    }

    /** Polls {@code condition} every 20 ms until it is true or {@code timeout} passes, and returns whether it became true. */
    public static boolean await(Duration timeout, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (condition.getAsBoolean()) {
                return true;
            }
            Thread.sleep(20);
        }
        return condition.getAsBoolean();
    }
}
