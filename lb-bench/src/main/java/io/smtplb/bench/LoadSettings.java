package io.smtplb.bench;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Everything one {@link SmtpLoad} run does, parsed from its command line.
 *
 * @param targets where sessions go; samples alternate between them
 * @param baseline name of the target the others are compared with
 * @param workload label of the run in reports
 * @param mode closed loop, open loop or holding idle connections
 * @param concurrency closed loop: sessions in flight; hold: connects in flight
 * @param rate open loop: sessions started per second
 * @param sessionsPerSample maximum sessions started in one sample
 * @param sampleDuration maximum time one sample starts sessions for
 * @param messageSize bytes of message content per session, headers included, terminator excluded
 * @param timeout maximum time for one session, from its start to the 221 reply
 * @param connectTimeout maximum time for one TCP connect
 * @param pipelining whether MAIL, RCPT and DATA go out together when the server advertises PIPELINING
 * @param threads event loop threads of the load tool
 * @param rounds how many times each target is sampled
 * @param warmup time each target is loaded before the first round, unrecorded
 * @param heloName name sent with EHLO
 * @param maxInFlight open loop: sessions in flight beyond which due sessions are counted as not started
 * @param holdConnections hold: connections opened and kept idle
 * @param holdTime hold: how long the connections stay open once all are greeted
 * @param readyFile hold: file written once all connections are greeted, or {@code null}
 * @param jsonFile file that every JSON result line is appended to, or {@code null}
 * @param forceNio whether to use NIO where native epoll is available
 */
record LoadSettings(
        List<Target> targets,
        String baseline,
        String workload,
        Mode mode,
        int concurrency,
        double rate,
        long sessionsPerSample,
        Duration sampleDuration,
        int messageSize,
        Duration timeout,
        Duration connectTimeout,
        boolean pipelining,
        int threads,
        int rounds,
        Duration warmup,
        String heloName,
        int maxInFlight,
        int holdConnections,
        Duration holdTime,
        Path readyFile,
        Path jsonFile,
        boolean forceNio) {

    /** How sessions are started. */
    enum Mode {
        /** A fixed number of sessions in flight; each one that ends starts the next. */
        CLOSED,
        /** Sessions start at a fixed rate whatever the server's speed, timed from when each was due. */
        OPEN,
        /** Connections are opened, greeted, and then kept idle. */
        HOLD
    }

    static final Set<String> VALUE_OPTIONS = Set.of("target", "baseline", "workload", "mode", "concurrency", "rate",
            "sessions", "duration", "message-size", "timeout", "connect-timeout", "threads", "rounds", "warmup",
            "helo", "max-in-flight", "hold", "hold-time", "ready-file", "json-file");
    static final Set<String> FLAG_OPTIONS = Set.of("no-pipelining", "nio", "help");

    LoadSettings {
        targets = List.copyOf(targets);
    }

    static LoadSettings fromCommandLine(CommandLine options) {
        List<Target> targets = new ArrayList<>();
        options.all("target").forEach(text -> targets.add(Target.parse(text)));
        if (targets.isEmpty()) {
            throw new CommandLine.UsageException("--target: missing (expected: at least one NAME=HOST:PORT)");
        }
        Mode mode = parseMode(options.string("mode", "closed"));
        if (mode == Mode.HOLD && targets.size() != 1) {
            throw new CommandLine.UsageException("--target: " + targets.size() + " given (expected: 1 with --mode hold)");
        }
        if (mode == Mode.OPEN && !options.has("rate")) {
            throw new CommandLine.UsageException("--rate: missing (expected: sessions per second with --mode open)");
        }
        boolean bounded = options.has("sessions") || options.has("duration");
        return new LoadSettings(
                targets,
                baselineName(options, targets),
                options.string("workload", mode.name().toLowerCase(Locale.ROOT)),
                mode,
                options.intValue("concurrency", 50, 1, 100_000),
                options.doubleValue("rate", 0.0, 0.0),
                options.longValue("sessions", bounded ? Long.MAX_VALUE : 1000, 1, Long.MAX_VALUE),
                options.duration("duration", Duration.ofHours(1)),
                (int) Math.min(Integer.MAX_VALUE - 3, messageSize(options)),
                options.duration("timeout", Duration.ofSeconds(30)),
                options.duration("connect-timeout", Duration.ofSeconds(5)),
                !options.flag("no-pipelining"),
                options.intValue("threads", 1, 1, 64),
                options.intValue("rounds", 1, 1, 1000),
                options.duration("warmup", Duration.ZERO),
                options.string("helo", "load.bench.invalid"),
                options.intValue("max-in-flight", 10_000, 1, 1_000_000),
                options.intValue("hold", 1000, 1, 1_000_000),
                options.duration("hold-time", Duration.ofSeconds(10)),
                pathOrNull(options.string("ready-file", null)),
                pathOrNull(options.string("json-file", null)),
                options.flag("nio"));
    }

    private static Mode parseMode(String text) {
        try {
            return Mode.valueOf(text.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new CommandLine.UsageException("--mode: " + text + " (expected: closed, open or hold)");
        }
    }

    private static String baselineName(CommandLine options, List<Target> targets) {
        String name = options.string("baseline", targets.get(0).name());
        if (targets.stream().noneMatch(target -> target.name().equals(name))) {
            throw new CommandLine.UsageException("--baseline: " + name + " (expected: the name of a --target)");
        }
        return name;
    }

    private static long messageSize(CommandLine options) {
        long size = options.bytes("message-size", 2048);
        if (size < MessageContent.MIN_SIZE || size > 256L * 1024 * 1024) {
            throw new CommandLine.UsageException("--message-size: " + size + " (expected: "
                    + MessageContent.MIN_SIZE + " bytes to 256MiB)");
        }
        return size;
    }

    private static Path pathOrNull(String text) {
        return text == null ? null : Path.of(text);
    }
}
