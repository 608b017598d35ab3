package io.smtplb;

import io.smtplb.admin.CtlCommand;
import io.smtplb.config.InvalidConfigException;
import io.smtplb.config.Settings;
import io.smtplb.config.SettingsLoader;
import io.smtplb.demo.DemoCommand;
import io.smtplb.proxy.ListenerBindException;
import io.smtplb.proxy.SessionObserver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;
import sun.misc.SignalHandler;

import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The {@code smtplb} command line: {@code run}, {@code check}, {@code ctl}, {@code demo}, {@code --version},
 * {@code --help}.
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
              ctl COMMAND           talk to a running balancer's admin endpoint: state, drain,
                                    maintenance, ready, reload (smtplb ctl --help for details)
              demo                  start three local demo relays and a balancer in front of them
                                    on 127.0.0.1:2525 (admin endpoint on 127.0.0.1:9525)
              --version             print the version
              --help                print this text
            """;

    private Main() {
    }

    public static void main(String[] args) {
        int status = run(args, System.out, System.err);
        // run and demo return after a clean stop; exiting explicitly ends the remaining non-daemon threads.
        System.exit(status);
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
            case "ctl" -> CtlCommand.run(options, out, err, System.getenv());
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
                err.println("unknown command: " + args[0] + " (expected: run, check, ctl, demo, --version, --help)");
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

    /**
     * Starts the balancer and blocks until the JVM is asked to stop (SIGTERM, SIGINT). SIGHUP rereads the
     * configuration file.
     */
    static int serve(Settings settings, PrintStream err) {
        Logger log = LoggerFactory.getLogger(Main.class);
        SmtpLoadBalancer balancer;
        try {
            balancer = SmtpLoadBalancer.start(settings, SessionObserver.NONE);
        } catch (ListenerBindException | UncheckedIOException e) {
            err.println("smtplb cannot start: " + e.getMessage());
            return EXIT_FAILURE;
        }

        reloadOnSighup(balancer, log);
        CountDownLatch stopped = new CountDownLatch(1);
        stopOnSignals(() -> {
            // Read now, so a reloaded shutdown-drain applies.
            Duration drain = balancer.settings().timeouts().shutdownDrain();
            log.info("stopping: no new connections; open sessions get {} s to finish", drain.toSeconds());
            balancer.shutdown(drain);
            log.info("stopped");
            stopped.countDown();
        });

        awaitQuietly(stopped);
        return EXIT_OK;
    }

    /**
     * Runs {@code stop} once, on its own thread, at the first SIGTERM or SIGINT. Handling the signals here,
     * rather than in a shutdown hook, lets a clean stop exit with status 0: after a hook the JVM exits with
     * 128 + the signal number, which systemd reports as a failure.
     */
    public static void stopOnSignals(Runnable stop) {
        AtomicBoolean stopping = new AtomicBoolean();
        SignalHandler onStopSignal = signal -> {
            if (stopping.compareAndSet(false, true)) {
                new Thread(stop, "smtplb-shutdown").start();
            }
        };
        Signal.handle(new Signal("TERM"), onStopSignal);
        Signal.handle(new Signal("INT"), onStopSignal);
    }

    /**
     * Makes SIGHUP reload the configuration, as systemd's {@code ExecReload} sends it. Without a handler the
     * JVM would exit on SIGHUP. The reload runs on the balancer's reload thread and logs its own outcome.
     */
    private static void reloadOnSighup(SmtpLoadBalancer balancer, Logger log) {
        try {
            SignalHandler previous = Signal.handle(new Signal("HUP"), signal -> {
                log.info("SIGHUP received: reloading the configuration");
                balancer.reloadAsync();
            });
            if (previous == SignalHandler.SIG_IGN) {
                // The JVM keeps a signal ignored that the process started with ignored, as nohup does.
                log.warn("SIGHUP is ignored in this process (started under nohup?); reload with smtplb ctl "
                        + "reload instead");
            }
        } catch (IllegalArgumentException e) {
            // TODO: platforms without SIGHUP (Windows) reload only through the admin API.
            log.warn("SIGHUP cannot be handled on this platform ({}); reload with smtplb ctl reload instead",
                    e.getMessage());
        }
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
