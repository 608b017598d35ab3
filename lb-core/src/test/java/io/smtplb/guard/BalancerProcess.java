package io.smtplb.guard;

import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.fail;

/**
 * smtplb as a child JVM ({@code io.smtplb.Main run --config FILE}) started from jars, with standard output and
 * error in one log file. Tests use it for what only a separate process shows: limits set with {@code ulimit} or
 * JVM options, whether the process survives, and its log lines. The configuration must name its listener
 * {@code test} and bind it to {@code 127.0.0.1:0}.
 */
final class BalancerProcess implements AutoCloseable {

    private static final Pattern BOUND = Pattern.compile("listener test bound to \\[/127\\.0\\.0\\.1:(\\d+)\\]");

    private final Process process;
    private final Path log;
    private InetSocketAddress listener;

    private BalancerProcess(Process process, Path log) {
        this.process = process;
        this.log = log;
    }

    /**
     * Writes {@code config} to {@code directory}, packs the class path into jars there and starts smtplb with
     * {@code jvmOptions}, after running {@code shellPrefix} (such as {@code ulimit -n 256}, or empty) in the shell
     * that starts it. Returns once the listener {@code test} is bound.
     */
    static BalancerProcess start(Path directory, String config, String shellPrefix, List<String> jvmOptions)
            throws Exception {
        Path configFile = directory.resolve("smtplb.conf");
        Files.writeString(configFile, config);
        Path log = directory.resolve("smtplb.out");

        String java = ProcessHandle.current().info().command().orElse("java");
        String command = shellPrefix + "\nexec " + java + " \"$@\" -cp \"$SMTPLB_CLASSPATH\" io.smtplb.Main run --config "
                + configFile;
        List<String> arguments = new ArrayList<>(List.of("bash", "-c", command, "smtplb"));
        arguments.addAll(jvmOptions);
        ProcessBuilder builder = new ProcessBuilder(arguments).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        builder.environment().put("SMTPLB_CLASSPATH", jarredClassPath(directory));

        BalancerProcess started = new BalancerProcess(builder.start(), log);
        Matcher bound = started.awaitLog(BOUND, 30_000);
        started.listener = new InetSocketAddress("127.0.0.1", Integer.parseInt(bound.group(1)));
        return started;
    }

    /** Returns the address of the listener {@code test}. */
    InetSocketAddress listener() {
        return listener;
    }

    long pid() {
        return process.pid();
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /** Returns everything the process has written so far. */
    String output() throws IOException {
        return Files.exists(log) ? Files.readString(log) : "";
    }

    /** Returns the number of output lines that contain {@code text}. */
    long countLines(String text) throws IOException {
        return output().lines().filter(line -> line.contains(text)).count();
    }

    /** Waits for a match in the output, and fails with the whole output when the process ends or time runs out. */
    Matcher awaitLog(Pattern pattern, long timeoutMillis) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        for (;;) {
            String output = output();
            Matcher matcher = pattern.matcher(output);
            if (matcher.find()) {
                return matcher;
            }
            if (!process.isAlive() || System.nanoTime() > deadline) {
                fail("smtplb output: no match for " + pattern + " (process alive: " + process.isAlive() + "):\n"
                        + output);
            }
            Thread.sleep(50);
        }
    }

    void awaitLog(String text, long timeoutMillis) throws Exception {
        awaitLog(Pattern.compile(Pattern.quote(text)), timeoutMillis);
    }

    /** Stops the process with SIGTERM, and with SIGKILL when it is still running 15 s later. */
    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(15, TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
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
}
