package io.smtplb.testing;

import io.smtplb.SmtpLoadBalancer;
import io.smtplb.config.InvalidConfigException;
import io.smtplb.config.SettingsLoader;
import io.smtplb.proxy.SessionObserver;
import io.smtplb.proxy.Transport;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Starts balancers from a configuration file with the admin endpoint on a free loopback port, as
 * {@code smtplb run --config FILE} does, so that reloads reread a real file.
 */
public final class AdminBalancers {

    /** The admin token that {@link #config} sets. */
    public static final String TOKEN = "test-token-0123";

    private AdminBalancers() {
    }

    /**
     * Returns a configuration with one listener {@code test} on a free loopback port in front of pool
     * {@code relays}; {@code poolBody} goes inside the pool's braces, {@code extra} inside {@code smtplb}.
     */
    public static String config(String poolBody, String extra) {
        return """
                smtplb {
                  hostname = "lb.test"
                  event-loop-threads = 2
                  listeners { test { bind = "127.0.0.1:0", pool = relays } }
                  pools { relays { %s } }
                  admin { bind = "127.0.0.1:0", token = "%s" }
                  access-log { enabled = false }
                  %s
                }
                """.formatted(poolBody, TOKEN, extra);
    }

    /** Writes {@code hocon} to {@code file}, replacing what was there. */
    public static Path write(Path file, String hocon) throws IOException {
        Files.writeString(file, hocon, StandardCharsets.UTF_8);
        return file;
    }

    /** Loads the file and starts a balancer on the platform's best transport. */
    public static SmtpLoadBalancer start(Path file) throws InvalidConfigException {
        return SmtpLoadBalancer.start(SettingsLoader.load(file), Transport.detect(), SessionObserver.NONE);
    }

    /** Returns an admin client with the test token. */
    public static AdminClient admin(SmtpLoadBalancer balancer) {
        return new AdminClient(balancer.adminAddress(), TOKEN);
    }

    /** Returns the address the test listener is bound to. */
    public static InetSocketAddress listener(SmtpLoadBalancer balancer) {
        return balancer.proxy().boundAddresses("test").get(0);
    }

    /**
     * A relay that greets with {@code 220 NAME ESMTP}, replies {@code 250 NAME ok} to every command and
     * replies to QUIT with {@code 221 NAME bye} before it closes.
     */
    public static ScriptedRelay quitRelay(String name) throws IOException {
        return new ScriptedRelay(socket -> {
            InputStream in = socket.getInputStream();
            OutputStream out = socket.getOutputStream();
            Streams.writeLine(out, "220 " + name + " ESMTP");
            for (String line; (line = Streams.readLine(in)) != null; ) {
                if (line.startsWith("QUIT")) {
                    Streams.writeLine(out, "221 " + name + " bye");
                    break;
                }
                Streams.writeLine(out, "250 " + name + " ok");
            }
            socket.close();
        });
    }

    /** An open client session: connected and greeted, until {@link #quit()} or {@link #close()}. */
    public static final class Session implements AutoCloseable {
        private final Socket socket;
        private final String greeting;

        private Session(Socket socket, String greeting) {
            this.socket = socket;
            this.greeting = greeting;
        }

        /** Connects to the balancer and reads the greeting. */
        public static Session open(InetSocketAddress address) throws IOException {
            Socket socket = new Socket(address.getAddress(), address.getPort());
            socket.setSoTimeout(10_000);
            return new Session(socket, Streams.readLine(socket.getInputStream()));
        }

        /** Returns the greeting line, such as {@code 220 r1 ESMTP}, or {@code null} if none came. */
        public String greeting() {
            return greeting;
        }

        /** Sends one command and returns the reply line, or {@code null} when the connection closed. */
        public String command(String line) throws IOException {
            Streams.writeLine(socket.getOutputStream(), line);
            return Streams.readLine(socket.getInputStream());
        }

        /** Sends QUIT, returns the reply, and waits for the close. */
        public String quit() throws IOException {
            String reply = command("QUIT");
            socket.getInputStream().read();
            socket.close();
            return reply;
        }

        /** Returns whether the balancer closed the connection: the next read returns end of stream or fails with a reset. */
        public boolean isClosedByPeer() {
            try {
                return socket.getInputStream().read() < 0;
            } catch (IOException e) {
                return true;
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
