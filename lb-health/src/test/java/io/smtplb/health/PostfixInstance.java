package io.smtplb.health;

import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * A private Postfix instance for tests, listening only on loopback ports chosen at start.
 *
 * <p>Everything lives in one temporary directory: {@code main.cf} and {@code master.cf}, the queue and data
 * directories, and the log ({@code maillog_file}, so no syslog daemon is needed). It starts with
 * {@code postfix -c DIR start}, which returns once the master has bound its listeners, and stops with
 * {@code postfix -c DIR stop}, then by the master's PID if it lingers. Other instances, such as the system's
 * own, are never touched.
 *
 * <p>Each named service is an {@code smtpd} (or a {@code postscreen} in front of one) with its own
 * {@code -o} overrides:
 * <pre>{@code
 * try (PostfixInstance postfix = PostfixInstance.builder()
 *         .smtpd("plain", "smtpd_tls_security_level=none")
 *         .smtpd("proxy", "smtpd_upstream_proxy_protocol=haproxy")
 *         .start()) {
 *     InetSocketAddress relay = postfix.address("proxy");
 *     ...
 *     assertThat(postfix.awaitLogLine("proxy", "disconnect from")).endsWith("ehlo=1 quit=1 commands=2");
 * }
 * }</pre>
 *
 * <p>Needs root (the master runs as root and its daemons switch to the {@code postfix} user) and the Debian
 * package {@code postfix}; a test fails with a message naming the package when it is missing.
 */
final class PostfixInstance implements AutoCloseable {

    private static final Duration STOP_DEADLINE = Duration.ofSeconds(15);

    /** Daemons that smtpd and postscreen talk to; chroot is off so the instance needs no copied files. */
    private static final String SUPPORT_SERVICES = """
            cleanup   unix  n       -       n       -       0       cleanup
            qmgr      unix  n       -       n       300     1       qmgr
            tlsmgr    unix  -       -       n       1000?   1       tlsmgr
            rewrite   unix  -       -       n       -       -       trivial-rewrite
            bounce    unix  -       -       n       -       0       bounce
            defer     unix  -       -       n       -       0       bounce
            trace     unix  -       -       n       -       0       bounce
            verify    unix  -       -       n       -       1       verify
            proxymap  unix  -       -       n       -       -       proxymap
            anvil     unix  -       -       n       -       1       anvil
            scache    unix  -       -       n       -       1       scache
            postlog   unix-dgram n  -       n       -       1       postlogd
            error     unix  -       -       n       -       -       error
            retry     unix  -       -       n       -       -       error
            discard   unix  -       -       n       -       -       discard
            smtp      unix  -       -       n       -       -       smtp
            relay     unix  -       -       n       -       -       smtp
            """;

    private final Path directory;
    private final Path postfix;
    private final Map<String, Integer> ports;
    private long masterPid = -1;

    private PostfixInstance(Path directory, Path postfix, Map<String, Integer> ports) {
        this.directory = directory;
        this.postfix = postfix;
        this.ports = ports;
    }

    static Builder builder() {
        return new Builder();
    }

    /** Returns the address of a named service, as the IP literal 127.0.0.1 (no host name attached). */
    InetSocketAddress address(String service) throws IOException {
        Integer port = ports.get(service);
        if (port == null) {
            throw new IllegalArgumentException("service: " + service + " (expected one of " + ports.keySet() + ")");
        }
        return new InetSocketAddress(InetAddress.getByAddress(new byte[] {127, 0, 0, 1}), port);
    }

    /** Returns the instance's directory, where tests may put files such as certificates. */
    Path directory() {
        return directory;
    }

    /** Returns the log written so far. */
    String log() throws IOException {
        Path log = directory.resolve("maillog");
        return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
    }

    /**
     * Waits for a log line of the named service that contains {@code text}, and returns it. Each service logs
     * under its own {@code syslog_name} ({@code postfix/NAME/smtpd[PID]: ...}), so a test that uses a service
     * of its own reads only its own sessions. Postfix writes the log through a separate daemon, a little after
     * the event, hence the wait.
     */
    String awaitLogLine(String service, String text) throws IOException, InterruptedException {
        String tag = "postfix/" + service + "/";
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < deadline) {
            Optional<String> line = log().lines().filter(l -> l.contains(tag) && l.contains(text)).findFirst();
            if (line.isPresent()) {
                return line.get();
            }
            Thread.sleep(20);
        }
        return fail("postfix log: no line of service " + service + " containing \"" + text
                + "\" within 10 s; log:\n" + log());
    }

    /** Returns the log lines of the named service written so far. */
    List<String> logLines(String service) throws IOException {
        String tag = "postfix/" + service + "/";
        return log().lines().filter(line -> line.contains(tag)).toList();
    }

    @Override
    public void close() throws IOException, InterruptedException {
        try {
            ExternalTools.run(List.of(postfix.toString(), "-c", directory.toString(), "stop"), 60);
            awaitMasterExit();
        } finally {
            deleteRecursively(directory);
        }
    }

    private void awaitMasterExit() throws InterruptedException {
        Optional<ProcessHandle> master = ProcessHandle.of(masterPid);
        if (master.isEmpty()) {
            return;
        }
        long deadline = System.nanoTime() + STOP_DEADLINE.toNanos();
        while (master.get().isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        if (master.get().isAlive()) {
            master.get().destroyForcibly();
        }
    }

    private void start(Map<String, String> mainCf, String masterCf) throws IOException, InterruptedException {
        Files.writeString(directory.resolve("main.cf"), render(mainCf), StandardCharsets.US_ASCII);
        Files.writeString(directory.resolve("master.cf"), masterCf + SUPPORT_SERVICES, StandardCharsets.US_ASCII);
        Files.createDirectories(directory.resolve("queue/pid"));
        Path data = Files.createDirectories(directory.resolve("data"));
        UserPrincipal postfixUser = data.getFileSystem().getUserPrincipalLookupService()
                .lookupPrincipalByName("postfix");
        Files.setOwner(data, postfixUser);

        Process process = new ProcessBuilder(postfix.toString(), "-c", directory.toString(), "start")
                .redirectErrorStream(true).start();
        process.getOutputStream().close();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (process.waitFor() != 0) {
            String log = log();
            deleteRecursively(directory);
            fail("postfix -c " + directory + " start: exit code " + process.exitValue() + " (expected: 0)\n"
                    + output + "\nlog:\n" + log);
        }
        masterPid = Long.parseLong(Files.readString(directory.resolve("queue/pid/master.pid")).trim());
    }

    private static String render(Map<String, String> parameters) {
        StringBuilder text = new StringBuilder();
        parameters.forEach((key, value) -> text.append(key).append(" = ").append(value).append('\n'));
        return text.toString();
    }

    private static void deleteRecursively(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        }
    }

    /** Collects services and parameters, then starts the instance. */
    static final class Builder {
        private final Map<String, String> mainCf = new LinkedHashMap<>();
        private final List<String[]> services = new ArrayList<>();

        Builder() {
            mainCf.put("compatibility_level", "3.6");
            mainCf.put("mail_owner", "postfix");
            mainCf.put("setgid_group", "postdrop");
            mainCf.put("myhostname", "relay.test");
            mainCf.put("mydestination", "");
            mainCf.put("inet_interfaces", "loopback-only");
            mainCf.put("inet_protocols", "ipv4");
            mainCf.put("mynetworks", "127.0.0.0/8");
            mainCf.put("alias_maps", "");
            mainCf.put("alias_database", "");
            mainCf.put("local_recipient_maps", "");
            mainCf.put("smtpd_banner", "$myhostname ESMTP");
            // Tests run one connection at a time; the default of 60 s per pending TLS or proxy read is long.
            mainCf.put("smtpd_upstream_proxy_timeout", "2s");
        }

        /** Sets a {@code main.cf} parameter for every service. */
        Builder mainCf(String key, String value) {
            mainCf.put(key, value);
            return this;
        }

        /** Adds an smtpd on its own loopback port, with {@code -o key=value} overrides. */
        Builder smtpd(String name, String... overrides) {
            services.add(withName("smtpd", name, overrides));
            return this;
        }

        /**
         * Adds postscreen on its own loopback port, handing clients that pass its tests to an smtpd; an
         * instance can hold one. Its behaviour is set with {@code postscreen_*} parameters through
         * {@link #mainCf}.
         */
        Builder postscreen(String name) {
            services.add(withName("postscreen", name));
            return this;
        }

        private static String[] withName(String kind, String name, String... overrides) {
            String[] service = new String[overrides.length + 2];
            service[0] = kind;
            service[1] = name;
            System.arraycopy(overrides, 0, service, 2, overrides.length);
            return service;
        }

        PostfixInstance start() throws IOException, InterruptedException {
            Path postfix = ExternalTools.require("postfix", "postfix");
            if (!ExternalTools.isRoot()) {
                fail("postfix: user " + System.getProperty("user.name") + " (expected: root, which Postfix's"
                        + " master needs to run its daemons as user postfix)");
            }
            Path directory = Files.createTempDirectory("smtplb-postfix-");
            // The daemons run as user postfix and must reach the queue below this directory.
            Files.setPosixFilePermissions(directory, PosixFilePermissions.fromString("rwxr-xr-x"));
            Map<String, String> parameters = new LinkedHashMap<>(mainCf);
            parameters.put("queue_directory", directory.resolve("queue").toString());
            parameters.put("data_directory", directory.resolve("data").toString());
            parameters.put("maillog_file", directory.resolve("maillog").toString());
            parameters.put("maillog_file_prefixes", directory.toString());

            Map<String, Integer> ports = new LinkedHashMap<>();
            StringBuilder masterCf = new StringBuilder();
            for (String[] service : services) {
                int port = ExternalTools.freePort();
                ports.put(service[1], port);
                masterCf.append(masterLine(service, port));
            }
            PostfixInstance instance = new PostfixInstance(directory, postfix, ports);
            instance.start(parameters, masterCf.toString());
            return instance;
        }

        private static String masterLine(String[] service, int port) {
            String listen = "127.0.0.1:" + port;
            String syslogName = "  -o syslog_name=postfix/" + service[1] + "\n";
            if (service[0].equals("postscreen")) {
                return listen + " inet n - n - 1 postscreen\n" + syslogName
                        + "smtpd     pass  -       -       n       -       -       smtpd\n" + syslogName
                        + "dnsblog   unix  -       -       n       -       0       dnsblog\n"
                        + "tlsproxy  unix  -       -       n       -       0       tlsproxy\n";
            }
            StringBuilder line = new StringBuilder(listen).append(" inet n - n - - smtpd\n").append(syslogName);
            for (int i = 2; i < service.length; i++) {
                line.append("  -o ").append(service[i]).append('\n');
            }
            return line.toString();
        }
    }
}
