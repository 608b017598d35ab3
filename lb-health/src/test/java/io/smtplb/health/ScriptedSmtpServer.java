package io.smtplb.health;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A loopback TCP server whose every connection runs a script written in the test, on its own thread, with
 * plain blocking sockets: what it sends, when, in how many TCP segments, and how it ends the connection.
 *
 * <p>Each connection records what the client sent, whether it sent bytes too early, and how the client
 * ended the connection, so tests can assert on what a relay would have seen.
 */
final class ScriptedSmtpServer implements AutoCloseable {

    /** What one connection does. */
    interface Script {
        void run(Connection connection) throws Exception;
    }

    /** How the client ended the connection, as the server saw it. */
    enum Ending {
        /** read(2) returned end of stream: the client closed with FIN. */
        FIN,
        /** read(2) failed with "Connection reset": the client closed with RST. */
        RESET,
        /** The client kept the connection open until the read timeout. */
        STILL_OPEN,
        /** The script closed the connection itself. */
        SERVER_CLOSED
    }

    private static final Duration READ_TIMEOUT = Duration.ofSeconds(15);

    private final ServerSocket server;
    private final BlockingQueue<Connection> connections = new LinkedBlockingQueue<>();
    private volatile Script script;

    private ScriptedSmtpServer(Script script) throws IOException {
        this.script = script;
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread acceptor = new Thread(this::acceptLoop, "scripted-smtp-accept-" + server.getLocalPort());
        acceptor.setDaemon(true);
        acceptor.start();
    }

    static ScriptedSmtpServer start(Script script) throws IOException {
        return new ScriptedSmtpServer(script);
    }

    InetSocketAddress address() {
        return new InetSocketAddress(server.getInetAddress(), server.getLocalPort());
    }

    /** Replaces the script for connections accepted from now on. */
    void script(Script next) {
        this.script = next;
    }

    /** Returns the next accepted connection, waiting up to {@code timeout}. */
    Connection nextConnection(Duration timeout) throws InterruptedException {
        Connection connection = connections.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        if (connection == null) {
            throw new AssertionError("scripted server: no connection within " + timeout.toMillis() + " ms");
        }
        return connection;
    }

    /** Returns how many connections have been accepted and not yet taken by {@link #nextConnection}. */
    int pendingConnections() {
        return connections.size();
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket socket = server.accept();
                Connection connection = new Connection(socket);
                connections.add(connection);
                Script current = script;
                Thread worker = new Thread(() -> connection.run(current), "scripted-smtp-" + socket.getPort());
                worker.setDaemon(true);
                worker.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
    }

    /** One accepted connection, seen from the server's side. */
    static final class Connection {
        private final Socket socket;
        private final InputStream in;
        private final OutputStream out;
        private final List<String> commands = new ArrayList<>();
        private final CompletableFuture<Connection> finished = new CompletableFuture<>();
        private volatile boolean spokeEarly;
        private volatile Ending ending;
        private volatile byte[] firstRead;

        Connection(Socket socket) throws IOException {
            this.socket = socket;
            socket.setSoTimeout((int) READ_TIMEOUT.toMillis());
            socket.setTcpNoDelay(true);
            this.in = socket.getInputStream();
            this.out = socket.getOutputStream();
        }

        private void run(Script script) {
            try {
                script.run(this);
                finished.complete(this);
            } catch (ClientSpokeEarly e) {
                finished.complete(this);
            } catch (Exception | AssertionError e) {
                finished.completeExceptionally(e);
            } finally {
                closeQuietly();
            }
        }

        // ---- script side -----------------------------------------------------------------------------------

        /** Writes the text in one write; with TCP_NODELAY it leaves in one segment. */
        void send(String text) throws IOException {
            out.write(text.getBytes(StandardCharsets.US_ASCII));
            out.flush();
        }

        /**
         * Writes the text one byte per write and TCP segment, with a short pause so the segments stay apart,
         * and, like {@link #sendStrict}, hangs up with {@code 554} if the client sends anything in between.
         */
        void sendBytewiseStrict(String text) throws IOException, InterruptedException {
            for (byte b : text.getBytes(StandardCharsets.US_ASCII)) {
                sendStrict(new String(new byte[] {b}, StandardCharsets.US_ASCII));
                Thread.sleep(2);
            }
        }

        /**
         * Writes one line of a reply like a strict relay: if the client has sent anything before this line,
         * it replies {@code 554} and hangs up, as Postfix postscreen does with a client that talks before its
         * turn. Call it for the greeting's lines and for every line after the first of a multi-line reply.
         */
        void sendStrict(String line) throws IOException {
            if (in.available() > 0) {
                spokeEarly = true;
                send("554 5.5.1 Error: client sent data before the reply was complete\r\n");
                socket.close();
                ending = Ending.SERVER_CLOSED;
                throw new ClientSpokeEarly();
            }
            send(line);
        }

        void pause(Duration duration) throws InterruptedException {
            Thread.sleep(duration.toMillis());
        }

        /** Reads one command line and records it without CRLF; returns {@code null} at end of stream. */
        String readCommand() throws IOException {
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            int b;
            while ((b = in.read()) != -1) {
                if (b == '\n') {
                    String command = line.toString(StandardCharsets.US_ASCII);
                    command = command.endsWith("\r") ? command.substring(0, command.length() - 1) : command;
                    synchronized (commands) {
                        commands.add(command);
                    }
                    return command;
                }
                line.write(b);
            }
            return null;
        }

        /** Reads what one read(2) returns, up to 512 bytes, and records it. */
        byte[] readOnce() throws IOException {
            byte[] buffer = new byte[512];
            int count = in.read(buffer);
            byte[] chunk = count <= 0 ? new byte[0] : Arrays.copyOf(buffer, count);
            if (firstRead == null) {
                firstRead = chunk;
            }
            return chunk;
        }

        /** Reads until the client ends the connection and records how it did. */
        Ending awaitEnd() throws IOException {
            try {
                while (true) {
                    int b = in.read();
                    if (b == -1) {
                        ending = Ending.FIN;
                        return ending;
                    }
                }
            } catch (SocketTimeoutException e) {
                ending = Ending.STILL_OPEN;
            } catch (SocketException e) {
                if (!String.valueOf(e.getMessage()).contains("reset")) {
                    throw e;
                }
                ending = Ending.RESET;
            }
            return ending;
        }

        /** Closes with RST instead of FIN: SO_LINGER with a zero timeout discards the connection. */
        void reset() throws IOException {
            socket.setSoLinger(true, 0);
            socket.close();
            ending = Ending.SERVER_CLOSED;
        }

        /** Closes with FIN. */
        void close() throws IOException {
            socket.close();
            ending = Ending.SERVER_CLOSED;
        }

        private void closeQuietly() {
            try {
                socket.close();
            } catch (IOException ignored) {
                // Already closed or reset; nothing left to release.
            }
        }

        // ---- test side -------------------------------------------------------------------------------------

        /** Waits for the script to finish and rethrows what failed in it. */
        Connection awaitScript(Duration timeout) throws Exception {
            try {
                return finished.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.ExecutionException e) {
                throw new AssertionError("scripted connection failed: " + e.getCause(), e.getCause());
            }
        }

        List<String> commands() {
            synchronized (commands) {
                return List.copyOf(commands);
            }
        }

        boolean spokeEarly() {
            return spokeEarly;
        }

        Ending ending() {
            return ending;
        }

        byte[] firstRead() {
            return firstRead;
        }

        int clientPort() {
            return socket.getPort();
        }

        int serverPort() {
            return socket.getLocalPort();
        }
    }

    /** Ends a script after a client talked before its turn. */
    private static final class ClientSpokeEarly extends RuntimeException {
        ClientSpokeEarly() {
            super("client sent data before the reply was complete", null, false, false);
        }
    }
}
