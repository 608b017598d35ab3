package io.smtplb.bench;

import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoopGroup;
import io.netty.util.internal.logging.InternalLoggerFactory;
import io.netty.util.internal.logging.JdkLoggerFactory;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * End-to-end SMTP load generator. Each session waits for the greeting, sends EHLO, MAIL, RCPT, DATA, the
 * message and QUIT, waits for the 221 reply and closes.
 *
 * <p>Given several targets, it samples them in turn (round {@code r} starts with target {@code r}), so that
 * drift on the machine hits every target alike, and reports each target against the baseline target of the
 * same round. Every sample prints a human-readable line and a JSON line; the run ends with a summary of
 * medians.
 *
 * <pre>
 * java -cp lb-bench/target/benchmarks.jar io.smtplb.bench.SmtpLoad \
 *     --target direct=127.0.0.1:2501 --target haproxy=127.0.0.1:2600@4711 \
 *     --concurrency 50 --message-size 2KiB --duration 5s --rounds 5
 * </pre>
 */
public final class SmtpLoad {

    private static final String USAGE = """
            Usage: SmtpLoad --target NAME=HOST:PORT[...] [--target ...] [options]
              --target NAME=HOST:PORT[,HOST:PORT...][@PID+PID...]
                                     where sessions go, to each address in turn; the PIDs are the processes
                                     whose CPU time each sample reports
              --baseline NAME        target the others are compared with (default: the first)
              --workload NAME        label in the reports (default: the mode)
              --mode MODE            closed (default), open or hold
              --concurrency N        closed: sessions in flight; hold: connects in flight (default 50)
              --rate N               open: sessions started per second
              --sessions N           maximum sessions per sample (default 1000 when --duration is not given)
              --duration TIME        maximum time per sample, such as 5s
              --message-size SIZE    message bytes per session, such as 2KiB or 1MiB (default 2KiB)
              --timeout TIME         maximum time per session (default 30s)
              --connect-timeout TIME maximum time per TCP connect (default 5s)
              --no-pipelining        send MAIL, RCPT and DATA one by one even if PIPELINING is advertised
              --threads N            event loop threads (default 1)
              --rounds N             samples per target (default 1)
              --warmup TIME          unrecorded load on each target before the first round (default 0s)
              --helo NAME            EHLO name (default load.bench.invalid)
              --max-in-flight N      open: due sessions beyond this many in flight are not started (default 10000)
              --hold N               hold: connections to open and keep idle (default 1000)
              --hold-time TIME       hold: how long to keep them once all are greeted (default 10s)
              --ready-file FILE      hold: written with the held count once all connections are greeted
              --json-file FILE       append every JSON result line to FILE as well
              --nio                  use NIO even where native epoll is available
            """;

    private final LoadSettings settings;
    private final PrintStream out;
    private final Transport transport;

    SmtpLoad(LoadSettings settings, PrintStream out) {
        this.settings = settings;
        this.out = out;
        this.transport = Transport.select(settings.forceNio());
    }

    public static void main(String[] args) throws InterruptedException {
        InternalLoggerFactory.setDefaultFactory(JdkLoggerFactory.INSTANCE);
        LoadSettings settings;
        try {
            CommandLine options = CommandLine.parse(args, LoadSettings.VALUE_OPTIONS, LoadSettings.FLAG_OPTIONS);
            if (options.flag("help")) {
                System.out.print(USAGE);
                return;
            }
            settings = LoadSettings.fromCommandLine(options);
        } catch (CommandLine.UsageException e) {
            System.err.println("smtp-load: " + e.getMessage());
            System.err.print(USAGE);
            System.exit(2);
            return;
        }
        SmtpLoad load = new SmtpLoad(settings, System.out);
        if (settings.mode() == LoadSettings.Mode.HOLD) {
            load.hold();
        } else {
            load.run();
        }
    }

    /** Runs the warm-up and every round; returns the samples in the order they ran. */
    List<SampleResult> run() throws InterruptedException {
        EventLoopGroup group = transport.newGroup(settings.threads(), "smtp-load");
        ByteBuf message = MessageContent.withTerminator(settings.messageSize());
        try {
            Map<String, SessionLauncher> launchers = launchers(group, message, false);
            warmUp(group, launchers);
            List<SampleResult> results = new ArrayList<>();
            for (int round = 1; round <= settings.rounds(); round++) {
                for (Target target : rotated(settings.targets(), round - 1)) {
                    SampleResult result = sample(group, launchers.get(target.name()), target, round);
                    report(result);
                    results.add(result);
                }
            }
            LoadSummary.of(settings, results).print(out, this::emitJson);
            return results;
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    /** Opens idle connections to the single target, keeps them for the hold time, then closes them. */
    void hold() throws InterruptedException {
        EventLoopGroup group = transport.newGroup(settings.threads(), "smtp-load");
        Target target = settings.targets().get(0);
        SessionLauncher launcher = launchers(group, MessageContent.withTerminator(MessageContent.MIN_SIZE), true)
                .get(target.name());
        HoldRun run = new HoldRun(launcher, group, settings.holdConnections(), settings.concurrency());

        long start = System.nanoTime();
        SampleStats stats = run.open(TimeUnit.MINUTES.toNanos(10));
        double secondsToOpen = (System.nanoTime() - start) / 1e9;
        out.printf(Locale.ROOT, "%s: holding %d of %d connections (opened in %.1f s, greeting p50 %.2f ms,"
                        + " p99 %.2f ms), failures %s%n", target.name(), stats.held(), settings.holdConnections(),
                secondsToOpen, stats.greetingMillis(50), stats.greetingMillis(99), failureText(stats));
        emitJson(new JsonLine().add("type", "hold").add("workload", settings.workload())
                .add("target", target.name()).add("requested", settings.holdConnections()).add("held", stats.held())
                .add("secondsToOpen", secondsToOpen).add("greetingP50Ms", stats.greetingMillis(50))
                .add("greetingP99Ms", stats.greetingMillis(99)).addCounts("failures", labels(stats))
                .toString());
        if (settings.readyFile() != null) {
            SmtpSink.writeAtomically(settings.readyFile(), Long.toString(stats.held()));
        }

        run.holdAndRelease(settings.holdTime());
        out.printf(Locale.ROOT, "%s: released; %d connections were dropped while held%n", target.name(),
                run.droppedWhileHeld());
        emitJson(new JsonLine().add("type", "hold-end").add("workload", settings.workload())
                .add("target", target.name()).add("droppedWhileHeld", run.droppedWhileHeld()).toString());
    }

    private Map<String, SessionLauncher> launchers(EventLoopGroup group, ByteBuf message, boolean hold) {
        SessionPlan plan = new SessionPlan(message, settings.heloName(), settings.pipelining(), hold,
                settings.timeout().toNanos());
        Map<String, SessionLauncher> launchers = new LinkedHashMap<>();
        for (Target target : settings.targets()) {
            launchers.put(target.name(), new SessionLauncher(group, transport, target.addresses(), plan,
                    (int) settings.connectTimeout().toMillis()));
        }
        return launchers;
    }

    private void warmUp(EventLoopGroup group, Map<String, SessionLauncher> launchers) throws InterruptedException {
        if (settings.warmup().isZero()) {
            return;
        }
        for (Target target : settings.targets()) {
            SampleStats stats = runSample(group, launchers.get(target.name()), settings.warmup().toNanos());
            out.printf(Locale.ROOT, "warm-up %s: %d sessions, failures %s%n", target.name(), stats.successes(),
                    failureText(stats));
        }
    }

    private SampleResult sample(EventLoopGroup group, SessionLauncher launcher, Target target, int round)
            throws InterruptedException {
        double cpuBefore = ProcessCpu.seconds(target.pids());
        long start = System.nanoTime();
        SampleStats stats = runSample(group, launcher, settings.sampleDuration().toNanos());
        long elapsed = System.nanoTime() - start;
        double cpu = ProcessCpu.seconds(target.pids()) - cpuBefore;
        return new SampleResult(target, round, stats, elapsed, cpu, settings.messageSize());
    }

    private SampleStats runSample(EventLoopGroup group, SessionLauncher launcher, long durationNanos)
            throws InterruptedException {
        long waitLimit = Math.min(durationNanos, TimeUnit.HOURS.toNanos(1)) + settings.timeout().toNanos()
                + TimeUnit.SECONDS.toNanos(30);
        if (settings.mode() == LoadSettings.Mode.OPEN) {
            return new OpenLoopSample(launcher, group.next(), settings.rate(), settings.maxInFlight())
                    .run(durationNanos, settings.sessionsPerSample(), waitLimit);
        }
        return new ClosedLoopSample(launcher, group, settings.concurrency(), settings.sessionsPerSample())
                .run(durationNanos, waitLimit);
    }

    private void report(SampleResult result) {
        SampleStats stats = result.stats();
        out.printf(Locale.ROOT, "[round %d/%d] %-10s %8.1f sessions/s %8.2f MB/s  greeting p50 %.2f p99 %.2f"
                        + " p99.9 %.2f ms  session p50 %.2f p99 %.2f p99.9 %.2f ms  cpu %s  failures %s%n",
                result.round(), settings.rounds(), result.target().name(), result.sessionsPerSecond(),
                result.megabytesPerSecond(), stats.greetingMillis(50), stats.greetingMillis(99),
                stats.greetingMillis(99.9), stats.sessionMillis(50), stats.sessionMillis(99),
                stats.sessionMillis(99.9), cpuText(result), failureText(stats));
        emitJson(sampleJson(result));
    }

    private String sampleJson(SampleResult result) {
        SampleStats stats = result.stats();
        return new JsonLine().add("type", "sample").add("workload", settings.workload())
                .add("mode", settings.mode().name().toLowerCase(Locale.ROOT)).add("target", result.target().name())
                .add("round", result.round()).add("transport", transport.displayName())
                .add("concurrency", settings.concurrency()).add("rate", settings.rate())
                .add("messageSize", settings.messageSize()).add("seconds", result.seconds())
                .add("sessions", stats.successes()).add("failuresTotal", stats.failureCount())
                .add("sessionsPerSecond", result.sessionsPerSecond())
                .add("megabytesPerSecond", result.megabytesPerSecond())
                .add("greetingP50Ms", stats.greetingMillis(50)).add("greetingP99Ms", stats.greetingMillis(99))
                .add("greetingP999Ms", stats.greetingMillis(99.9)).add("sessionP50Ms", stats.sessionMillis(50))
                .add("sessionP99Ms", stats.sessionMillis(99)).add("sessionP999Ms", stats.sessionMillis(99.9))
                .add("cpuSeconds", result.cpuSeconds())
                .add("cpuSecondsPer10kSessions", result.cpuSecondsPer10kSessions())
                .add("cpuSecondsPerGB", result.cpuSecondsPerGigabyte())
                .addCounts("failures", result.failuresByLabel())
                .addStrings("failureDetails", result.failureDetailsByLabel())
                .toString();
    }

    /** Prints a JSON line and appends it to the JSON file when one is configured. */
    void emitJson(String line) {
        out.println(line);
        if (settings.jsonFile() == null) {
            return;
        }
        try {
            Files.writeString(settings.jsonFile(), line + "\n", StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("appending to " + settings.jsonFile() + " failed", e);
        }
    }

    /** Waits for a latch, failing with a message naming the step when it takes longer than the limit. */
    static void await(CountDownLatch latch, long limitNanos, String step) throws InterruptedException {
        if (!latch.await(limitNanos, TimeUnit.NANOSECONDS)) {
            throw new IllegalStateException(step + " did not finish within "
                    + TimeUnit.NANOSECONDS.toSeconds(limitNanos) + " s");
        }
    }

    /** Returns the targets starting at position {@code shift}, wrapping around. */
    static List<Target> rotated(List<Target> targets, int shift) {
        List<Target> order = new ArrayList<>(targets.size());
        for (int i = 0; i < targets.size(); i++) {
            order.add(targets.get((shift + i) % targets.size()));
        }
        return order;
    }

    private static String cpuText(SampleResult result) {
        if (Double.isNaN(result.cpuSeconds())) {
            return "n/a";
        }
        return String.format(Locale.ROOT, "%.2f s (%.2f s/10k sessions)", result.cpuSeconds(),
                result.cpuSecondsPer10kSessions());
    }

    static String failureText(SampleStats stats) {
        if (stats.failureCount() == 0) {
            return "none";
        }
        StringBuilder text = new StringBuilder();
        Map<FailureKind, String> details = stats.firstDetails();
        stats.failures().forEach((kind, count) -> text.append(text.length() == 0 ? "" : ", ")
                .append(kind.label()).append('=').append(count).append(" (first: ").append(details.get(kind))
                .append(')'));
        return text.toString();
    }

    private static Map<String, Long> labels(SampleStats stats) {
        Map<String, Long> byLabel = new LinkedHashMap<>();
        stats.failures().forEach((kind, count) -> byLabel.put(kind.label(), count));
        return byLabel;
    }
}
