package io.smtplb.health;

import static org.assertj.core.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Finds and runs the Debian tools that tests use as real peers (Postfix, openssl). */
final class ExternalTools {

    private ExternalTools() {
    }

    /**
     * Returns the path of an executable on {@code PATH} or in the sbin directories, which are often missing
     * from a non-login {@code PATH}; fails the test, naming the Debian package, when it is absent.
     */
    static Path require(String name, String debianPackage) {
        List<String> directories = new ArrayList<>(List.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)));
        directories.addAll(List.of("/usr/sbin", "/usr/local/sbin", "/sbin"));
        for (String directory : directories) {
            if (directory.isEmpty()) {
                continue;
            }
            Path candidate = Path.of(directory, name);
            if (Files.isExecutable(candidate)) {
                return candidate;
            }
        }
        return fail(name + ": not found on PATH or in the sbin directories (expected: Debian package "
                + debianPackage + " installed, e.g. apt-get install " + debianPackage + ")");
    }

    /** Runs a command to completion and returns its combined output; fails the test on a non-zero exit. */
    static String run(List<String> command, long timeoutSeconds) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        process.getOutputStream().close();
        if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            return fail(String.join(" ", command) + ": still running after " + timeoutSeconds + " s");
        }
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (process.exitValue() != 0) {
            return fail(String.join(" ", command) + ": exit code " + process.exitValue() + " (expected: 0); output:\n"
                    + output);
        }
        return output;
    }

    /** Returns a loopback port that was free a moment ago. */
    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    /** Returns whether the tests run as root, which Postfix's master and smtp-sink's -u option need. */
    static boolean isRoot() {
        return "root".equals(System.getProperty("user.name"));
    }
}
