package io.smtplb.admin;

import java.io.IOException;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code smtplb ctl}: talks to a running balancer's admin endpoint.
 *
 * <pre>
 * smtplb ctl [--admin HOST:PORT] [--token TOKEN] state
 * smtplb ctl drain POOL BACKEND [--deadline 30s]
 * smtplb ctl maintenance POOL BACKEND [--deadline 30s]
 * smtplb ctl ready POOL BACKEND
 * smtplb ctl reload
 * </pre>
 *
 * <p>The token comes from {@code --token}, else from the environment variable {@value #TOKEN_VARIABLE}.
 * Exit status: 0 when the balancer accepted the request, 1 when it refused it or could not be reached,
 * 2 for a wrong command line.
 */
public final class CtlCommand {

    /** Environment variable that contains the admin token. */
    public static final String TOKEN_VARIABLE = "SMTPLB_ADMIN_TOKEN";
    static final String DEFAULT_ADMIN = "127.0.0.1:9525";
    private static final int EXIT_OK = 0;
    private static final int EXIT_FAILURE = 1;
    private static final int EXIT_USAGE = 2;
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(3);
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);
    /** A reload reads the file and resolves host names before it sends its response. */
    private static final Duration RELOAD_TIMEOUT = Duration.ofSeconds(60);

    static final String USAGE = """
            Usage: smtplb ctl [--admin HOST:PORT] [--token TOKEN] <command>

            Commands:
              state                                  print listeners, pools and backends as JSON
              drain POOL BACKEND [--deadline 30s]    no new sessions; open sessions continue, or are
                                                     closed once the deadline has passed
              maintenance POOL BACKEND [--deadline 30s]
                                                     like drain, and health checks pause
              ready POOL BACKEND                     back in service
              reload                                 reread the configuration file (as SIGHUP does)

            Options:
              --admin HOST:PORT   admin endpoint (default 127.0.0.1:9525, the default admin.bind)
              --token TOKEN       admin.token, for drain, maintenance, ready and reload; default: the
                                  environment variable SMTPLB_ADMIN_TOKEN
            """;

    private final PrintStream out;
    private final PrintStream err;
    private String admin = DEFAULT_ADMIN;
    private String token;
    private Duration deadline;
    private final List<String> words = new ArrayList<>();

    private CtlCommand(PrintStream out, PrintStream err, Map<String, String> environment) {
        this.out = out;
        this.err = err;
        this.token = environment.get(TOKEN_VARIABLE);
    }

    /** Runs {@code smtplb ctl} with the arguments after {@code ctl}; returns the exit status. */
    public static int run(String[] options, PrintStream out, PrintStream err, Map<String, String> environment) {
        if (List.of(options).contains("--help") || List.of(options).contains("-h")) {
            out.print(USAGE);
            return EXIT_OK;
        }
        CtlCommand command = new CtlCommand(out, err, environment);
        try {
            command.parse(options);
        } catch (IllegalArgumentException e) {
            err.println("smtplb ctl: " + e.getMessage());
            err.print(USAGE);
            return EXIT_USAGE;
        }
        return command.execute();
    }

    private void parse(String[] options) {
        for (int i = 0; i < options.length; i++) {
            String option = options[i];
            switch (option) {
                case "--admin" -> admin = valueOf(options, ++i, option);
                case "--token" -> token = valueOf(options, ++i, option);
                case "--deadline" -> deadline = Durations.parse("--deadline", valueOf(options, ++i, option));
                default -> {
                    if (option.startsWith("--")) {
                        throw new IllegalArgumentException("unknown option: " + option
                                + " (expected: --admin, --token, --deadline)");
                    }
                    words.add(option);
                }
            }
        }
        if (words.isEmpty()) {
            throw new IllegalArgumentException("missing command (expected: state, drain, maintenance, ready, reload)");
        }
        checkArity();
    }

    private void checkArity() {
        String command = words.get(0);
        int expected = switch (command) {
            case "state", "reload" -> 1;
            case "drain", "maintenance", "ready" -> 3;
            default -> throw new IllegalArgumentException("unknown command: " + command
                    + " (expected: state, drain, maintenance, ready, reload)");
        };
        if (words.size() != expected) {
            int arguments = words.size() - 1;
            throw new IllegalArgumentException(command + ": " + arguments
                    + (arguments == 1 ? " argument" : " arguments")
                    + " (expected: " + (expected == 1 ? "no arguments" : "POOL BACKEND") + ")");
        }
        if (deadline != null && !command.equals("drain") && !command.equals("maintenance")) {
            throw new IllegalArgumentException("--deadline applies to drain and maintenance only");
        }
    }

    private static String valueOf(String[] options, int index, String option) {
        if (index >= options.length) {
            throw new IllegalArgumentException("missing value for " + option);
        }
        return options[index];
    }

    private int execute() {
        String command = words.get(0);
        HttpRequest request = switch (command) {
            case "state" -> get("/api/state");
            case "reload" -> post("/api/reload", RELOAD_TIMEOUT);
            default -> post(backendPath(command), REQUEST_TIMEOUT);
        };
        return send(request, command);
    }

    private String backendPath(String action) {
        String path = "/api/pools/" + encode(words.get(1)) + "/backends/" + encode(words.get(2)) + "/" + action;
        return deadline == null ? path : path + "?deadline=" + deadline.toMillis() + "ms";
    }

    private HttpRequest get(String path) {
        return builder(path, REQUEST_TIMEOUT).GET().build();
    }

    private HttpRequest post(String path, Duration timeout) {
        return builder(path, timeout).POST(HttpRequest.BodyPublishers.noBody()).build();
    }

    private HttpRequest.Builder builder(String path, Duration timeout) {
        HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create(baseUri() + path)).timeout(timeout);
        if (token != null && !token.isEmpty()) {
            builder.header("Authorization", "Bearer " + token);
        }
        return builder;
    }

    private String baseUri() {
        return "http://" + admin;
    }

    private int send(HttpRequest request, String command) {
        HttpClient client = HttpClient.newBuilder().connectTimeout(CONNECT_TIMEOUT).build();
        HttpResponse<String> response;
        try {
            response = client.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        } catch (HttpConnectTimeoutException | ConnectException e) {
            return unreachable("connection " + (e instanceof ConnectException ? "refused" : "timed out"));
        } catch (HttpTimeoutException e) {
            err.println("smtplb ctl: " + command + ": no answer from " + baseUri() + " within "
                    + request.timeout().map(Duration::toSeconds).orElse(0L) + " s");
            return EXIT_FAILURE;
        } catch (IOException e) {
            return unreachable(String.valueOf(e.getMessage()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return EXIT_FAILURE;
        }
        return report(command, response);
    }

    private int unreachable(String reason) {
        err.println("smtplb ctl: cannot reach the admin endpoint at " + baseUri() + ": " + reason
                + " (is smtplb running with admin.bind = \"" + admin + "\"? use --admin HOST:PORT for another"
                + " address)");
        return EXIT_FAILURE;
    }

    private int report(String command, HttpResponse<String> response) {
        int status = response.statusCode();
        if (status / 100 == 2) {
            out.print(response.body());
            return EXIT_OK;
        }
        if (status == 401) {
            err.println("smtplb ctl: " + command + ": HTTP 401: " + response.body().strip()
                    + (token == null ? "; pass --token or set " + TOKEN_VARIABLE : "; check the token"));
            return EXIT_FAILURE;
        }
        err.println("smtplb ctl: " + command + ": HTTP " + status + ":");
        err.print(response.body().endsWith("\n") ? response.body() : response.body() + "\n");
        return EXIT_FAILURE;
    }

    private static String encode(String segment) {
        return URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20");
    }
}
