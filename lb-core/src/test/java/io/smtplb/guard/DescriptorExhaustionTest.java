package io.smtplb.guard;

import io.smtplb.testing.Streams;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.File;
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
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * smtplb as a child process with 256 file descriptors ({@code ulimit -n 256}) and a burst of 300 clients that
 * hold their sessions: accepting fails with EMFILE, and the process must neither crash nor spin, must log a few
 * WARN lines instead of one per failure, must reply to every client with an SMTP line (220 greeting or 421), and
 * must serve new clients once descriptors are free again.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class DescriptorExhaustionTest {

    private static final int CLIENTS = 300;
    private static final Pattern BOUND = Pattern.compile("listener test bound to \\[/127\\.0\\.0\\.1:(\\d+)\\]");
    private static final String ACCEPT_WARN = "listener test: accepting a connection failed";

    private Process balancer;
    private Path directory;
    private final List<Socket> sockets = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (Socket socket : sockets) {
            socket.close();
        }
        if (balancer != null) {
            balancer.destroy();
            if (!balancer.waitFor(15, TimeUnit.SECONDS)) {
                balancer.destroyForcibly();
            }
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
            Path log = directory.resolve("smtplb.out");
            InetSocketAddress listener = startBalancer(directory, log, relay.address());

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
                awaitLog(log, ACCEPT_WARN, 60_000);
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
                String output = Files.readString(log);
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

    private InetSocketAddress startBalancer(Path directory, Path log, InetSocketAddress relay) throws Exception {
        Path config = directory.resolve("smtplb.conf");
        Files.writeString(config, """
                smtplb {
                  hostname = "lb.test"
                  event-loop-threads = 2
                  listeners { test { bind = "127.0.0.1:0", pool = relays } }
                  pools { relays { health-check { type = none }, backends = [ { name = r1, address = "%s" } ] } }
                  admin { bind = "" }
                  access-log { enabled = false }
                }
                """.formatted(GuardTesting.hostPort(relay)));
        String java = ProcessHandle.current().info().command().orElse("java");
        String command = "ulimit -n 256; exec " + java + " -cp \"$SMTPLB_CLASSPATH\" io.smtplb.Main run --config "
                + config;
        ProcessBuilder builder = new ProcessBuilder("bash", "-c", command).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        builder.environment().put("SMTPLB_CLASSPATH", jarredClassPath(directory));
        balancer = builder.start();

        Matcher bound = awaitLog(log, BOUND, 30_000);
        return new InetSocketAddress("127.0.0.1", Integer.parseInt(bound.group(1)));
    }

    /**
     * Returns this test's class path with every directory packed into a jar. smtplb runs from its shaded jar, which
     * stays open; loading a class from a directory opens a file, which fails once descriptors run out.
     */
    private static String jarredClassPath(Path directory) throws IOException {
        List<String> entries = new ArrayList<>();
        int count = 0;
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path path = Path.of(entry);
            if (!Files.isDirectory(path)) {
                entries.add(entry);
                continue;
            }
            Path jar = directory.resolve("classes-" + (count++) + ".jar");
            writeJar(path, jar);
            entries.add(jar.toString());
        }
        return String.join(File.pathSeparator, entries);
    }

    private static void writeJar(Path classes, Path jar) throws IOException {
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar));
             Stream<Path> files = Files.walk(classes)) {
            for (Path file : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
                out.putNextEntry(new JarEntry(classes.relativize(file).toString().replace(File.separatorChar, '/')));
                Files.copy(file, out);
                out.closeEntry();
            }
        }
    }

    private Matcher awaitLog(Path log, Pattern pattern, long timeoutMillis) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        for (;;) {
            String output = Files.exists(log) ? Files.readString(log) : "";
            Matcher matcher = pattern.matcher(output);
            if (matcher.find()) {
                return matcher;
            }
            if (!balancer.isAlive() || System.nanoTime() > deadline) {
                fail("smtplb output: no match for " + pattern + " (process alive: " + balancer.isAlive() + "):\n"
                        + output);
            }
            Thread.sleep(50);
        }
    }

    private void awaitLog(Path log, String text, long timeoutMillis) throws Exception {
        awaitLog(log, Pattern.compile(Pattern.quote(text)), timeoutMillis);
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
