package io.smtplb.guard;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.fail;

/**
 * HAProxy in TCP mode, started by a test with its own configuration in the foreground ({@code haproxy -db -f FILE})
 * and stopped by PID. One frontend on a free loopback port forwards to one server; the caller chooses the PROXY
 * protocol options on each side. Connection log lines (tcplog) go to {@link #output()}.
 */
final class HaproxyInstance implements AutoCloseable {

    private static final Path HAPROXY = Path.of("/usr/sbin/haproxy");

    private final Process process;
    private final Path directory;
    private final Path output;
    private final int port;

    private HaproxyInstance(Process process, Path directory, Path output, int port) {
        this.process = process;
        this.directory = directory;
        this.output = output;
        this.port = port;
    }

    /**
     * Starts HAProxy with a frontend on 127.0.0.1 whose bind line ends with {@code bindOptions} (such as
     * {@code accept-proxy}) and a server {@code server} whose line ends with {@code serverOptions} (such as
     * {@code send-proxy-v2}).
     */
    static HaproxyInstance start(String bindOptions, InetSocketAddress server, String serverOptions)
            throws Exception {
        if (!Files.isExecutable(HAPROXY)) {
            fail("HAProxy is not installed (expected " + HAPROXY + "; apt-get install haproxy)");
        }
        Path directory = Files.createTempDirectory("smtplb-haproxy");
        int port = freePort();
        int readyPort = freePort();
        String config = String.join("\n",
                "global",
                "  log stdout format raw local0",
                "defaults",
                "  mode tcp",
                "  log global",
                "  option tcplog",
                "  timeout connect 5s",
                "  timeout client 30s",
                "  timeout server 30s",
                "frontend ready",
                "  bind 127.0.0.1:" + readyPort,
                "  tcp-request connection reject",
                "frontend smtp",
                "  bind 127.0.0.1:" + port + " " + bindOptions,
                "  default_backend relays",
                "backend relays",
                "  server s1 " + GuardTesting.hostPort(server) + " " + serverOptions,
                "");
        Path file = directory.resolve("haproxy.cfg");
        Files.writeString(file, config);
        Path output = directory.resolve("haproxy.out");
        Process process = new ProcessBuilder(HAPROXY.toString(), "-db", "-f", file.toString())
                .redirectErrorStream(true).redirectOutput(output.toFile()).start();
        HaproxyInstance instance = new HaproxyInstance(process, directory, output, port);
        instance.awaitListening(readyPort);
        return instance;
    }

    InetSocketAddress address() {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
    }

    /** Returns what HAProxy wrote so far: start-up messages and one tcplog line per finished connection. */
    String output() throws IOException {
        return Files.readString(output);
    }

    private void awaitListening(int readyPort) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                fail("haproxy exited with " + process.exitValue() + ": " + output());
            }
            try (Socket probe = new Socket()) {
                probe.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), readyPort), 200);
                return;
            } catch (IOException notYet) {
                Thread.sleep(50);
            }
        }
        fail("haproxy: not listening within 10 s: " + output());
    }

    private static int freePort() throws IOException {
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return probe.getLocalPort();
        }
    }

    @Override
    public void close() throws Exception {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
        Files.deleteIfExists(output);
        Files.deleteIfExists(directory.resolve("haproxy.cfg"));
        Files.deleteIfExists(directory);
    }
}
