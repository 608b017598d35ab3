package io.smtplb.guard;

import io.smtplb.testing.ScriptedRelay;
import io.smtplb.testing.Streams;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * smtplb as a child process with 2 MiB of direct memory, the JVM options it ships with otherwise
 * ({@code -XX:+ExitOnOutOfMemoryError} included), copy forwarding and greeting failover. A relay greets and then
 * stops reading, so what clients push piles up in smtplb's buffers toward it until allocations fail. The sessions
 * that hit the limit must end with a close, the process must survive, log a few WARN lines instead of one per
 * failure, and serve a new client once the pushing clients are gone.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class DirectMemoryExhaustionTest {

    private static final int CLIENTS = 50;
    /**
     * Bytes each client sends. Only what the kernel cannot take stays in smtplb's direct buffers, and smtplb's send
     * buffer toward the relay alone grows to 4 MiB with Linux's default {@code net.ipv4.tcp_wmem}. With 4 MiB per
     * client no allocation failed.
     */
    private static final long PUSH_BYTES = 12L * 1024 * 1024;
    private static final String MEMORY_WARN = "out of memory on the";
    private static final Pattern ERROR_RECORD = Pattern.compile("client=127\\.0\\.0\\.1:(\\d+) .*reason=error");

    private BalancerProcess balancer;
    private Path directory;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();

    /** How one pushing client's session ended. */
    private enum Outcome {
        /** smtplb closed or reset the connection. */
        CLOSED,
        /** The session was still open, held back by the stalled relay, when the test let go of it. */
        HELD,
        /** No 220 greeting came first. */
        NOT_GREETED
    }

    @AfterEach
    void stop() throws Exception {
        for (Socket socket : sockets) {
            socket.close();
        }
        if (balancer != null) {
            balancer.close();
        }
        if (directory != null) {
            try (Stream<Path> files = Files.walk(directory)) {
                files.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
            }
        }
    }

    // TODO: no client connects while memory is exhausted, so a failed allocation while reading a relay's greeting
    // (the client gets 421 and the relay is not blamed) is not covered.
    @Test
    void sessionsFailAloneWhenDirectMemoryRunsOut() throws Exception {
        AtomicBoolean stalling = new AtomicBoolean(true);
        CountDownLatch relayRelease = new CountDownLatch(1);
        try (ScriptedRelay relay = new ScriptedRelay(socket -> relayScript(socket, stalling, relayRelease))) {
            directory = Files.createTempDirectory("smtplb-direct");
            balancer = BalancerProcess.start(directory, config(relay.address()), "", List.of("-Xms64m", "-Xmx128m",
                    // A held session keeps at least Netty's 64 KiB write-buffer high-water mark in direct buffers.
                    "-XX:MaxDirectMemorySize=2m", "-Xss512k", "-XX:+UseSerialGC", "-XX:+ExitOnOutOfMemoryError",
                    // No pool: every buffer is its own allocation, so the limit is reached at the first
                    // buffer over it rather than at the next 4 MiB chunk.
                    "-Dio.netty.allocator.numDirectArenas=0"));

            Map<Integer, Outcome> outcomes = new ConcurrentHashMap<>();
            AtomicBoolean released = new AtomicBoolean();
            ExecutorService pushers = Executors.newFixedThreadPool(CLIENTS);
            try {
                for (int i = 0; i < CLIENTS; i++) {
                    long seed = i;
                    pushers.submit(() -> push(seed, outcomes, released));
                }
                balancer.awaitLog(MEMORY_WARN, 45_000);
                Set<Integer> failedPorts = awaitClosedClientsForErrorRecords(outcomes, 15_000);

                released.set(true);
                stalling.set(false);
                relayRelease.countDown();
                for (Socket socket : sockets) {
                    socket.close();
                }
                pushers.shutdown();
                assertThat(pushers.awaitTermination(15, TimeUnit.SECONDS)).as("pushing clients finished").isTrue();

                Map<Outcome, Long> counts = outcomes.values().stream()
                        .collect(Collectors.groupingBy(outcome -> outcome, Collectors.counting()));
                System.out.printf("direct memory exhaustion: outcomes %s, sessions closed with reason=error %d, "
                        + "WARN lines %d%n", counts, failedPorts.size(), balancer.countLines(MEMORY_WARN));
                assertThat(balancer.isAlive()).as("smtplb alive after running out of direct memory").isTrue();
                assertThat(outcomes).as("outcome of every pushing client").hasSize(CLIENTS);
                assertThat(counts.getOrDefault(Outcome.HELD, 0L)).as("sessions still open when the test let go")
                        .isPositive();
                assertThat(counts.get(Outcome.NOT_GREETED)).as("clients without a 220 greeting").isNull();
                assertThat(balancer.countLines(MEMORY_WARN)).as("rate-limited out-of-memory WARN lines")
                        .isBetween(1L, 2L);
                assertThat(balancer.output()).doesNotContain("exceptionCaught() event was fired")
                        .doesNotContain("unexpected error");
            } finally {
                pushers.shutdownNow();
            }

            assertNewClientServed(balancer.listener(), 20_000);
        }
    }

    /**
     * Greets; while {@code stalling} is set it then reads nothing until released, so smtplb's writes toward it
     * pile up. Connections accepted later reply to EHLO and QUIT.
     */
    private static void relayScript(Socket socket, AtomicBoolean stalling, CountDownLatch release) throws Exception {
        OutputStream out = socket.getOutputStream();
        Streams.writeLine(out, "220 relay.test ESMTP");
        if (stalling.get()) {
            release.await(90, TimeUnit.SECONDS);
            socket.close();
            return;
        }
        InputStream in = socket.getInputStream();
        for (String line; (line = Streams.readLine(in)) != null; ) {
            if (line.startsWith("EHLO")) {
                Streams.writeLine(out, "250 relay.test");
            } else if (line.equals("QUIT")) {
                Streams.writeLine(out, "221 relay.test bye");
                break;
            } else {
                Streams.writeLine(out, "502 5.5.1 not scripted");
            }
        }
        socket.close();
    }

    /** Reads the greeting, then pushes {@link #PUSH_BYTES} and waits for the end of the session. */
    private Void push(long seed, Map<Integer, Outcome> outcomes, AtomicBoolean released) throws IOException {
        Socket socket = GuardTesting.connectFrom("127.0.0.1", balancer.listener());
        sockets.add(socket);
        int port = socket.getLocalPort();
        socket.setSoTimeout(60_000);
        InputStream in = socket.getInputStream();
        try {
            String greeting = Streams.readLine(in);
            if (greeting == null || !greeting.startsWith("220 ")) {
                outcomes.put(port, Outcome.NOT_GREETED);
                return null;
            }
            Streams.write(socket.getOutputStream(), PUSH_BYTES, seed);
            // A held session sends nothing back; the read ends when smtplb closes it or the test lets go.
            int next = in.read();
            outcomes.put(port, next < 0 ? Outcome.CLOSED : Outcome.HELD);
        } catch (SocketTimeoutException e) {
            outcomes.put(port, Outcome.HELD);
        } catch (IOException e) {
            // A blocked write or read ends with an exception both on a reset from smtplb and when the test
            // closes the socket.
            outcomes.put(port, released.get() ? Outcome.HELD : Outcome.CLOSED);
        }
        return null;
    }

    /**
     * Waits until the access log records at least one session ended by an error and every such session has a
     * client that saw the close before the test let go of it, and returns those clients' ports. A session that
     * smtplb failed but did not close would leave its client waiting, and this would time out.
     */
    private Set<Integer> awaitClosedClientsForErrorRecords(Map<Integer, Outcome> outcomes, long timeoutMillis)
            throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        for (;;) {
            Set<Integer> failed = errorRecordPorts();
            Set<Integer> notClosed = failed.stream().filter(port -> outcomes.get(port) != Outcome.CLOSED)
                    .collect(Collectors.toSet());
            if (!failed.isEmpty() && notClosed.isEmpty()) {
                return failed;
            }
            assertThat(System.nanoTime() < deadline).as("after %d ms: sessions ended with reason=error %s, of "
                    + "which clients still wait on ports %s (expected: at least one, none waiting)", timeoutMillis,
                    failed, notClosed).isTrue();
            Thread.sleep(50);
        }
    }

    private Set<Integer> errorRecordPorts() throws IOException {
        Path accessLog = directory.resolve("access.log");
        if (!Files.exists(accessLog)) {
            return Set.of();
        }
        return Files.readAllLines(accessLog).stream().map(ERROR_RECORD::matcher).filter(Matcher::find)
                .map(matcher -> Integer.parseInt(matcher.group(1))).collect(Collectors.toSet());
    }

    /**
     * Opens sessions until one gets the relay's greeting and completes EHLO and QUIT. Buffers of the closed
     * sessions are freed on the event loops, so the first new session may still come too early.
     */
    private static void assertNewClientServed(InetSocketAddress listener, long timeoutMillis) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        int attempts = 0;
        for (;;) {
            attempts++;
            String dialogue = dialogue(listener);
            if (dialogue.equals("220 relay.test ESMTP|250 relay.test|221 relay.test bye")) {
                System.out.printf("direct memory exhaustion: new client served after %d attempt(s)%n", attempts);
                return;
            }
            assertThat(System.nanoTime() < deadline).as("new client's dialogue after %d attempts: %s (expected: "
                    + "220, 250, 221 from relay.test)", attempts, dialogue).isTrue();
            Thread.sleep(100);
        }
    }

    /** Runs greeting, EHLO and QUIT and returns the reply lines joined with {@code |}, or the error. */
    private static String dialogue(InetSocketAddress listener) {
        try (Socket socket = GuardTesting.connectFrom("127.0.0.1", listener)) {
            InputStream in = socket.getInputStream();
            OutputStream out = socket.getOutputStream();
            String greeting = Streams.readLine(in);
            Streams.writeLine(out, "EHLO client.test");
            String ehlo = Streams.readLine(in);
            Streams.writeLine(out, "QUIT");
            String quit = Streams.readLine(in);
            return greeting + "|" + ehlo + "|" + quit;
        } catch (IOException e) {
            return "error: " + e;
        }
    }

    private String config(InetSocketAddress relay) {
        return """
                smtplb {
                  hostname = "lb.test"
                  forwarding = copy
                  event-loop-threads = 2
                  listeners { test { bind = "127.0.0.1:0", pool = relays } }
                  pools {
                    relays {
                      greeting-failover = on
                      health-check { type = none }
                      backends = [ { name = r1, address = "%s" } ]
                    }
                  }
                  admin { bind = "" }
                  access-log { enabled = true, file = "%s" }
                }
                """.formatted(GuardTesting.hostPort(relay), directory.resolve("access.log"));
    }
}
