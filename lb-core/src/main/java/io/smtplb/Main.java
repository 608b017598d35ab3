package io.smtplb;

import io.smtplb.config.InvalidConfigException;
import io.smtplb.config.Settings;
import io.smtplb.config.SettingsLoader;
import io.smtplb.demo.DemoCommand;
import io.smtplb.proxy.ListenerBindException;
import io.smtplb.proxy.SessionObserver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;

/**
 * The {@code smtplb} command line: {@code run}, {@code check}, {@code demo}, {@code --version}, {@code --help}.
 *
 * <p>Exit status: 0 on success, 2 for an invalid configuration or command line, 1 when the balancer cannot
 * start for another reason (an address already in use, for example).
 */
public final class Main {

    static final int EXIT_OK = 0;
    static final int EXIT_FAILURE = 1;
    static final int EXIT_USAGE = 2;

    private static final String USAGE = """
            Usage: smtplb <command> [options]

            Commands:
              run --config FILE     start the balancer with the given HOCON configuration file
              check --config FILE   validate the file and print the effective configuration;
                                    exit status 0 when valid, 2 when not
              demo                  start three local demo relays and a balancer in front of them
                                    on 127.0.0.1:2525 (admin endpoint on 127.0.0.1:9525)
              --version             print the version
              --help                print this text
            """;

    private Main() {
    }

    public static void main(String[] args) {
        int status = run(args, System.out, System.err);
        if (status != EXIT_OK || !isLongRunning(args)) {
            System.exit(status);
        }
    }

    private static boolean isLongRunning(String[] args) {
        return args.length > 0 && (args[0].equals("run") || args[0].equals("demo"));
    }

    /** Runs one command; returns the exit status. {@code run} and {@code demo} return only on shutdown. */
    static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0) {
            err.print(USAGE);
            return EXIT_USAGE;
        }
        String[] options = Arrays.copyOfRange(args, 1, args.length);
        return switch (args[0]) {
            case "run" -> runBalancer(options, err);
            case "check" -> check(options, out, err);
            case "demo" -> DemoCommand.run(options, out, err);
            case "--version", "version" -> {
                out.println("smtplb " + version());
                yield EXIT_OK;
            }
            case "--help", "-h", "help" -> {
                out.print(USAGE);
                yield EXIT_OK;
            }
            default -> {
                err.println("unknown command: " + args[0] + " (expected: run, check, demo, --version, --help)");
                err.print(USAGE);
                yield EXIT_USAGE;
            }
        };
    }

    /** Returns the version from the jar manifest, or {@code dev} when run from classes. */
    public static String version() {
        String version = Main.class.getPackage().getImplementationVersion();
        return version == null ? "dev" : version;
    }

    private static int check(String[] options, PrintStream out, PrintStream err) {
        Path file = configOption(options, err);
        if (file == null) {
            return EXIT_USAGE;
        }
        try {
            Settings settings = SettingsLoader.load(file);
            out.print(SettingsLoader.renderEffective(settings));
            out.println("# " + file + ": configuration is valid");
            return EXIT_OK;
        } catch (InvalidConfigException e) {
            err.println(e.getMessage());
            return EXIT_USAGE;
        }
    }

    private static int runBalancer(String[] options, PrintStream err) {
        Path file = configOption(options, err);
        if (file == null) {
            return EXIT_USAGE;
        }
        Settings settings;
        try {
            settings = SettingsLoader.load(file);
        } catch (InvalidConfigException e) {
            err.println(e.getMessage());
            return EXIT_USAGE;
        }
        return serve(settings, err);
    }

    /** Starts the balancer and blocks until the JVM is asked to stop (SIGTERM, SIGINT). */
    static int serve(Settings settings, PrintStream err) {
        Logger log = LoggerFactory.getLogger(Main.class);
        SmtpLoadBalancer balancer;
        try {
            balancer = SmtpLoadBalancer.start(settings, SessionObserver.NONE);
        } catch (ListenerBindException e) {
            err.println("smtplb cannot start: " + e.getMessage());
            return EXIT_FAILURE;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            log.info("stopping: no new connections; open sessions get {} s to finish",
                    settings.timeouts().shutdownDrain().toSeconds());
            balancer.shutdown(settings.timeouts().shutdownDrain());
            log.info("stopped");
            stopped.countDown();
        }, "smtplb-shutdown"));
        awaitQuietly(stopped);
        return EXIT_OK;
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static Path configOption(String[] options, PrintStream err) {
        for (int i = 0; i < options.length; i++) {
            if (options[i].equals("--config") && i + 1 < options.length) {
                return Path.of(options[i + 1]);
            }
            if (options[i].startsWith("--config=")) {
                return Path.of(options[i].substring("--config=".length()));
            }
        }
        err.println("missing option: --config FILE");
        return null;
    }
}
