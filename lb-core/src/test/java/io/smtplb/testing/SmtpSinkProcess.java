package io.smtplb.testing;

import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Postfix's {@code smtp-sink} as a child process on a loopback port: a real SMTP server, not written here,
 * that can be killed with SIGKILL and started again. Each accepted message is dumped to a file, so a test
 * can count what reached this relay.
 */
public final class SmtpSinkProcess implements AutoCloseable {

    private static final String BINARY = "/usr/sbin/smtp-sink";

    private final int port;
    private final Path dumps;
    private Process process;

    private SmtpSinkProcess(int port, Path dumps) {
        this.port = port;
        this.dumps = dumps;
    }

    /** Starts smtp-sink on 127.0.0.1:{@code port}; fails the test when Postfix is not installed. */
    public static SmtpSinkProcess start(int port, Path dumps) throws IOException, InterruptedException {
        if (!new File(BINARY).canExecute()) {
            throw new AssertionError(BINARY + " not found: install Debian's postfix package (CI does)");
        }
        Files.createDirectories(dumps);
        // smtp-sink refuses to run as root without -u; the unprivileged user must be able to write the dumps.
        dumps.toFile().setWritable(true, false);
        for (Path dir = dumps; dir != null; dir = dir.getParent()) {
            dir.toFile().setExecutable(true, false);
        }
        SmtpSinkProcess sink = new SmtpSinkProcess(port, dumps);
        sink.restart();
        return sink;
    }

    public int port() {
        return port;
    }

    /** (Re)starts the process on the same port and waits until it accepts connections. */
    public void restart() throws IOException, InterruptedException {
        java.util.List<String> command = new java.util.ArrayList<>(java.util.List.of(BINARY));
        if ("root".equals(System.getProperty("user.name"))) {
            command.addAll(java.util.List.of("-u", "nobody"));
        }
        command.addAll(java.util.List.of("-d", dumps + "/%M.", "127.0.0.1:" + port, "100"));
        process = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            try (Socket probe = new Socket()) {
                probe.connect(new InetSocketAddress("127.0.0.1", port), 200);
                return;
            } catch (IOException notYet) {
                if (!process.isAlive()) {
                    throw new IOException("smtp-sink exited with status " + process.exitValue() + " on port " + port);
                }
                Thread.sleep(20);
            }
        }
        throw new IOException("smtp-sink does not accept on port " + port + " after 10 s");
    }

    /** Kills the process with SIGKILL, as a crashed relay host would vanish. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    /** Returns how many messages this relay has accepted, over all its runs. */
    public long messages() throws IOException {
        try (Stream<Path> files = Files.list(dumps)) {
            return files.count();
        }
    }

    @Override
    public void close() throws InterruptedException {
        if (process != null && process.isAlive()) {
            kill();
        }
    }
}
