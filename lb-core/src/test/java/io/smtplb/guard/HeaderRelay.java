package io.smtplb.guard;

import io.smtplb.testing.Streams;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A relay on a chosen loopback address that behaves like Postfix with {@code smtpd_upstream_proxy_protocol}: it
 * reads the PROXY header with a single read before it greets, and records what that read returned. Without
 * {@code expectHeader} it greets at once. Then it replies 250 to every line and 221 to QUIT.
 */
final class HeaderRelay implements AutoCloseable {

    private final ServerSocket server;
    private final boolean expectHeader;
    private final BlockingQueue<byte[]> firstReads = new LinkedBlockingQueue<>();
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final AtomicInteger accepted = new AtomicInteger();

    HeaderRelay(String host, boolean expectHeader) throws IOException {
        this.server = new ServerSocket(0, 256, InetAddress.getByName(host));
        this.expectHeader = expectHeader;
        Thread acceptor = new Thread(this::acceptLoop, "header-relay");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    InetSocketAddress address() {
        return (InetSocketAddress) server.getLocalSocketAddress();
    }

    int accepted() {
        return accepted.get();
    }

    /** Returns the bytes of the first read on the next connection, waiting up to 10 s. */
    byte[] nextFirstRead() throws InterruptedException {
        byte[] bytes = firstReads.poll(10, TimeUnit.SECONDS);
        if (bytes == null) {
            throw new AssertionError("relay: no connection with a first read within 10 s");
        }
        return bytes;
    }

    /** Returns the next command line the relay received, waiting up to 10 s. */
    String nextLine() throws InterruptedException {
        return lines.poll(10, TimeUnit.SECONDS);
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket socket = server.accept();
                accepted.incrementAndGet();
                sockets.add(socket);
                Thread worker = new Thread(() -> serve(socket), "header-relay-conn");
                worker.setDaemon(true);
                worker.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket socket) {
        try (socket) {
            socket.setSoTimeout(15_000);
            InputStream in = socket.getInputStream();
            OutputStream out = socket.getOutputStream();
            if (expectHeader) {
                byte[] buffer = new byte[4096];
                int read = in.read(buffer);
                firstReads.add(read < 0 ? new byte[0] : Arrays.copyOf(buffer, read));
            }
            Streams.writeLine(out, "220 relay.test ESMTP");
            for (String line; (line = Streams.readLine(in)) != null; ) {
                lines.add(line);
                if (line.startsWith("QUIT")) {
                    Streams.writeLine(out, "221 2.0.0 bye");
                    return;
                }
                Streams.writeLine(out, "250 ok");
            }
        } catch (IOException e) {
            // The client side went away; nothing to record.
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket socket : sockets) {
            socket.close();
        }
    }
}
