package io.smtplb.guard;

import io.smtplb.testing.Streams;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * smtplb as a child process with 256 file descriptors ({@code ulimit -n 256}) and a burst of 300 clients that
 * hold their sessions: accepting fails with EMFILE, and the process must neither crash nor spin, must log a few
 * WARN lines instead of one per failure, must reply to every client with an SMTP line (220 greeting or 421), and
 * must serve new clients once descriptors are free again.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class DescriptorExhaustionTest {

    private static final int CLIENTS = 300;
    private static final String ACCEPT_WARN = "listener test: accepting a connection failed";

    private BalancerProcess balancer;
    private Path directory;
    private final List<Socket> sockets = new ArrayList<>();

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

    @Test
    void burstPastDescriptorLimitIsServedWithoutCrash() throws Exception {
        try (HeaderRelay relay = new HeaderRelay("127.0.0.1", false)) {
            directory = Files.createTempDirectory("smtplb-fd");
            InetSocketAddress listener = startBalancer(directory, relay.address());

            Map<String, AtomicInteger> replies = new ConcurrentHashMap<>();
            CountDownLatch release = new CountDownLatch(1);
            CountDownLatch answered = new CountDownLatch(CLIENTS);
            ExecutorService readers = Executors.newFixedThreadPool(CLIENTS);
            try {
                for (int i = 0; i < CLIENTS; i++) {
                    Socket socket = GuardTesting.connectFrom("127.0.0." + (2 + i % 200), listener);
                    socket.setSoTimeout(90_000);
                    sockets.add(socket);
                    readers.submit(() -> serve(socket, replies, answered, release));
                }
                balancer.awaitLog(ACCEPT_WARN, 60_000);
                double cpuSeconds = cpuSecondsOver(balancer.pid(), 2_000);
                release.countDown();
                assertThat(answered.await(90, TimeUnit.SECONDS)).as("every client answered; replies: %s", replies)
                        .isTrue();

                assertThat(balancer.isAlive()).isTrue();
                // A busy accept loop would burn about 2 s of CPU in 2 s.
                assertThat(cpuSeconds).as("CPU seconds used in 2 s while out of descriptors").isLessThan(1.0);
                assertThat(replies.keySet()).as("first lines").allMatch(line -> line.startsWith("220 relay.test")
                        || line.startsWith("421 lb.test "));
                assertThat(replies.values().stream().mapToInt(AtomicInteger::get).sum()).isEqualTo(CLIENTS);
                String output = balancer.output();
                long warnLines = output.lines().filter(line -> line.contains(ACCEPT_WARN)).count();
                assertThat(warnLines).as("rate-limited accept WARN lines").isBetween(1L, 12L);
                assertThat(output).doesNotContain("exceptionCaught() event was fired").doesNotContain("OutOfMemory");
            } finally {
                readers.shutdownNow();
            }

            try (Socket fresh = GuardTesting.connectFrom("127.0.0.1", listener)) {
                assertThat(Streams.readLine(fresh.getInputStream())).isEqualTo("220 relay.test ESMTP");
            }
        }
    }

    /** Reads the first line; a greeted client holds its session until {@code release}, then quits. */
    private static Void serve(Socket socket, Map<String, AtomicInteger> replies, CountDownLatch answered,
                              CountDownLatch release) throws Exception {
        InputStream in = socket.getInputStream();
        String first;
        try {
            first = Streams.readLine(in);
        } catch (IOException e) {
            first = "error: " + e.getMessage();
        }
        replies.computeIfAbsent(String.valueOf(first), key -> new AtomicInteger()).incrementAndGet();
        answered.countDown();
        if (first != null && first.startsWith("220")) {
            release.await(120, TimeUnit.SECONDS);
            Streams.writeLine(socket.getOutputStream(), "QUIT");
            Streams.readLine(in);
        }
        socket.close();
        return null;
    }

    private InetSocketAddress startBalancer(Path directory, InetSocketAddress relay) throws Exception {
        String config = """
                smtplb {
                  hostname = "lb.test"
                  event-loop-threads = 2
                  listeners { test { bind = "127.0.0.1:0", pool = relays } }
                  pools { relays { health-check { type = none }, backends = [ { name = r1, address = "%s" } ] } }
                  admin { bind = "" }
                  access-log { enabled = false }
                }
                """.formatted(GuardTesting.hostPort(relay));
        balancer = BalancerProcess.start(directory, config, "ulimit -n 256", List.of());
        return balancer.listener();
    }

    /** Returns the CPU time the process used during the next {@code windowMillis}, from /proc. */
    private static double cpuSecondsOver(long pid, long windowMillis) throws Exception {
        long before = cpuTicks(pid);
        Thread.sleep(windowMillis);
        long after = cpuTicks(pid);
        // USER_HZ is 100 on Linux.
        return (after - before) / 100.0;
    }

    private static long cpuTicks(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        // utime and stime are fields 14 and 15 of /proc/PID/stat; fields here start at field 3.
        return Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
    }
}
