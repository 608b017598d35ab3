package io.smtplb.health;

import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Postfix's {@code smtp-sink} test server on a loopback port, started by the test and stopped by its PID.
 *
 * <p>smtp-sink accepts any mail and discards it. As root it needs {@code -u} to drop privileges.
 */
final class SmtpSink implements AutoCloseable {

    private final Process process;
    private final InetSocketAddress address;

    private SmtpSink(Process process, InetSocketAddress address) {
        this.process = process;
        this.address = address;
    }

    /** Starts smtp-sink with a listen backlog of 10 and waits until it accepts connections. */
    static SmtpSink start() throws IOException, InterruptedException {
        Path sink = ExternalTools.require("smtp-sink", "postfix");
        int port = ExternalTools.freePort();
        List<String> command = new ArrayList<>(List.of(sink.toString()));
        if (ExternalTools.isRoot()) {
            command.addAll(List.of("-u", "postfix"));
        }
        command.addAll(List.of("127.0.0.1:" + port, "10"));
        Process process = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        SmtpSink started = new SmtpSink(process, new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        started.awaitListening();
        return started;
    }

    InetSocketAddress address() {
        return address;
    }

    private void awaitListening() throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                fail("smtp-sink exited with code " + process.exitValue() + " before listening on " + address);
            }
            try (Socket socket = new Socket(address.getAddress(), address.getPort())) {
                return;
            } catch (IOException notYet) {
                Thread.sleep(20);
            }
        }
        close();
        fail("smtp-sink: not listening on " + address + " within 10 s");
    }

    /** Stops smtp-sink with SIGTERM to its PID, then SIGKILL if it lingers. */
    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
    }
}
