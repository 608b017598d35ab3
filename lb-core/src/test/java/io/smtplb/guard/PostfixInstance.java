package io.smtplb.guard;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * A private Postfix instance for one test: its own configuration, queue, data directory and log file in a temporary
 * directory, smtpd on a free loopback port (127.0.0.1 and, when configured, ::1), started and stopped with
 * {@code postfix -c DIR start|stop}. Every accepted message is put on hold, so a test can read its headers with
 * {@code postcat}. Needs root (Postfix's daemons run as the {@code postfix} user) and Debian's postfix package.
 */
final class PostfixInstance implements AutoCloseable {

    private static final Path POSTFIX = Path.of("/usr/sbin/postfix");
    private static final Path POSTCAT = Path.of("/usr/sbin/postcat");

    private final Path directory;
    private final Path maillog;
    private final int port;

    private PostfixInstance(Path directory, int port) {
        this.directory = directory;
        this.maillog = directory.resolve("maillog");
        this.port = port;
    }

    /**
     * Starts smtpd with {@code smtpd_upstream_proxy_protocol = haproxy} when {@code expectProxyHeader}; fails with
     * a clear message when Postfix is not installed.
     */
    static PostfixInstance start(boolean expectProxyHeader, boolean ipv6) throws Exception {
        if (!Files.isExecutable(POSTFIX) || !Files.isExecutable(POSTCAT)) {
            fail("Postfix is not installed (expected " + POSTFIX + " and " + POSTCAT + "; apt-get install postfix)");
        }
        Path directory = Files.createTempDirectory("smtplb-postfix");
        Files.setPosixFilePermissions(directory, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.createDirectories(directory.resolve("queue"));
        Path data = Files.createDirectories(directory.resolve("data"));
        UserPrincipal postfixUser = directory.getFileSystem().getUserPrincipalLookupService()
                .lookupPrincipalByName("postfix");
        Files.setOwner(data, postfixUser);

        PostfixInstance instance = new PostfixInstance(directory, freePort());
        instance.writeConfiguration(expectProxyHeader, ipv6);
        instance.run(POSTFIX.toString(), "-c", directory.toString(), "start");
        instance.awaitLog(Pattern.compile("daemon started"), 20_000);
        return instance;
    }

    InetSocketAddress address(String host) throws IOException {
        return new InetSocketAddress(InetAddress.getByName(host), port);
    }

    private void writeConfiguration(boolean expectProxyHeader, boolean ipv6) throws IOException {
        String main = String.join("\n",
                "compatibility_level = 3.6",
                "queue_directory = " + directory.resolve("queue"),
                "data_directory = " + directory.resolve("data"),
                "mail_owner = postfix",
                "inet_protocols = " + (ipv6 ? "all" : "ipv4"),
                "myhostname = postfix.test",
                "mydestination =",
                "mynetworks = 127.0.0.0/8" + (ipv6 ? " [::1]/128" : ""),
                "relay_domains = example.test",
                "smtpd_recipient_restrictions = check_recipient_access static:HOLD, permit_mynetworks, reject",
                "maillog_file = " + maillog,
                "maillog_file_prefixes = " + directory,
                expectProxyHeader ? "smtpd_upstream_proxy_protocol = haproxy" : "",
                "");
        String smtpd = " inet n - n - - smtpd\n";
        String master = "127.0.0.1:" + port + smtpd
                + (ipv6 ? "[::1]:" + port + smtpd : "")
                + String.join("\n",
                "pickup unix n - n 60 1 pickup",
                "cleanup unix n - n - 0 cleanup",
                "qmgr unix n - n 300 1 qmgr",
                "rewrite unix - - n - - trivial-rewrite",
                "bounce unix - - n - 0 bounce",
                "defer unix - - n - 0 bounce",
                "trace unix - - n - 0 bounce",
                "verify unix - - n - 1 verify",
                "proxymap unix - - n - - proxymap",
                "showq unix n - n - - showq",
                "error unix - - n - - error",
                "retry unix - - n - - error",
                "discard unix - - n - - discard",
                "anvil unix - - n - 1 anvil",
                "scache unix - - n - 1 scache",
                "postlog unix-dgram n - n - 1 postlogd",
                "");
        Files.writeString(directory.resolve("main.cf"), main);
        Files.writeString(directory.resolve("master.cf"), master);
    }

    /** Waits until a line of the mail log matches and returns the match. */
    Matcher awaitLog(Pattern pattern, long timeoutMillis) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        for (;;) {
            for (String line : logLines()) {
                Matcher matcher = pattern.matcher(line);
                if (matcher.find()) {
                    return matcher;
                }
            }
            if (System.nanoTime() > deadline) {
                fail("Postfix log: no line matching " + pattern + " within " + timeoutMillis + " ms; log:\n"
                        + String.join("\n", logLines()));
            }
            Thread.sleep(50);
        }
    }

    List<String> logLines() throws IOException {
        return Files.exists(maillog) ? Files.readAllLines(maillog, StandardCharsets.UTF_8) : List.of();
    }

    /** Returns the headers of a message in the hold queue, as {@code postcat -h} prints them. */
    String heldHeaders(String queueId) throws Exception {
        return run(POSTCAT.toString(), "-c", directory.toString(), "-h", "-q", queueId);
    }

    private String run(String... command) throws Exception {
        Path output = Files.createTempFile(directory, "command", ".out");
        Process process = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(output.toFile()).start();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            fail(String.join(" ", command) + ": no exit within 30 s");
        }
        String text = Files.readString(output);
        assertThat(process.exitValue()).as("%s exit status; output:\n%s", String.join(" ", command), text)
                .isZero();
        return text;
    }

    private static int freePort() throws IOException {
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return probe.getLocalPort();
        }
    }

    @Override
    public void close() throws Exception {
        try {
            run(POSTFIX.toString(), "-c", directory.toString(), "stop");
        } finally {
            try (Stream<Path> files = Files.walk(directory)) {
                files.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
            }
        }
    }
}
