package io.smtplb.accesslog;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.FileAppender;
import ch.qos.logback.core.OutputStreamAppender;
import io.smtplb.config.Settings.AccessLogSettings;
import io.smtplb.proxy.SessionObserver;
import io.smtplb.proxy.SessionRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The access log: one line per finished client session, written under the logger name {@code smtplb.access}
 * to {@code access-log.file}, or to standard output when no file is set.
 *
 * <p>Event loops only format the line and offer it to a bounded queue; a writer thread appends queued lines
 * through a Logback appender that this class configures and owns. When the writer falls behind and the queue
 * is full, lines are dropped and counted ({@link #droppedLines()}) rather than blocking an event loop.
 *
 * <p>Each instance has its own appender, so two balancers in one JVM (tests) never write into each other's
 * file. TODO: because the appender is attached here rather than to the logger, an appender that logback.xml
 * configures for {@code smtplb.access} (syslog, for example) receives nothing. {@link #reconfigure} applies a reload: a new format, a new file, or the same file reopened, which is
 * what log rotation needs after the old file was moved away.
 */
public final class AccessLog implements SessionObserver, AutoCloseable {

    /** The logger name that access log events carry. */
    public static final String LOGGER_NAME = "smtplb.access";

    private static final Logger log = LoggerFactory.getLogger(AccessLog.class);
    private static final int QUEUE_LINES = 16_384;
    private static final int BATCH_LINES = 256;
    private static final long POLL_MILLIS = 100;
    private static final long CLOSE_WAIT_MILLIS = 5_000;
    private static final AtomicInteger instances = new AtomicInteger();

    private final BlockingQueue<String> queue = new ArrayBlockingQueue<>(QUEUE_LINES);
    private final LongAdder dropped = new LongAdder();
    private final LoggerContext loggerContext;
    private final ch.qos.logback.classic.Logger accessLogger;
    private final String appenderName = "smtplb-access-" + instances.incrementAndGet();
    private final Thread writer;
    private volatile AccessLogSettings settings;
    private volatile AccessLogFormatter formatter;
    /** Guarded by {@code this}: the writer appends and {@link #reconfigure} swaps under the same lock. */
    private OutputStreamAppender<ILoggingEvent> appender;
    private volatile boolean closing;

    private AccessLog(AccessLogSettings settings) {
        this.loggerContext = (LoggerContext) LoggerFactory.getILoggerFactory();
        this.accessLogger = loggerContext.getLogger(LOGGER_NAME);
        this.writer = new Thread(this::writeLoop, "smtplb-access-log");
        this.writer.setDaemon(true);
        apply(settings);
    }

    /**
     * Opens the access log and starts its writer thread. A disabled log accepts sessions and writes nothing.
     *
     * @throws UncheckedIOException when {@code access-log.file} cannot be opened for appending
     */
    public static AccessLog start(AccessLogSettings settings) {
        AccessLog accessLog = new AccessLog(settings);
        accessLog.writer.start();
        return accessLog;
    }

    /** Formats the line on the calling event loop and queues it; never blocks. */
    @Override
    public void onClosed(SessionRecord session) {
        AccessLogFormatter current = formatter;
        if (current == null || closing) {
            return;
        }
        if (!queue.offer(current.format(session))) {
            dropped.increment();
        }
    }

    /** Returns the lines dropped because the queue was full. */
    public long droppedLines() {
        return dropped.sum();
    }

    /**
     * Applies settings from a reload. The file is reopened even when its name did not change, so a rotated
     * file is replaced by a new one. When the new file cannot be opened, the old settings stay in effect.
     *
     * @throws UncheckedIOException when the new file cannot be opened for appending
     */
    public void reconfigure(AccessLogSettings next) {
        apply(next);
    }

    /** Returns the settings in effect. */
    public AccessLogSettings settings() {
        return settings;
    }

    /** Writes what is queued, then stops the writer and closes the file. */
    @Override
    public void close() {
        closing = true;
        try {
            writer.join(CLOSE_WAIT_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (this) {
            stopAppender(appender);
            appender = null;
        }
    }

    private void apply(AccessLogSettings next) {
        OutputStreamAppender<ILoggingEvent> opened = next.enabled() ? open(next.file()) : null;
        OutputStreamAppender<ILoggingEvent> previous;
        synchronized (this) {
            previous = appender;
            appender = opened;
        }
        stopAppender(previous);
        settings = next;
        formatter = next.enabled() ? AccessLogFormatter.of(next.format()) : null;
    }

    private OutputStreamAppender<ILoggingEvent> open(Path file) {
        OutputStreamAppender<ILoggingEvent> opened = file == null ? consoleAppender() : fileAppender(file);
        PatternLayoutEncoder encoder = new PatternLayoutEncoder();
        encoder.setContext(loggerContext);
        encoder.setPattern("%msg%n");
        encoder.start();
        opened.setContext(loggerContext);
        opened.setName(appenderName);
        opened.setEncoder(encoder);
        opened.start();
        if (!opened.isStarted()) {
            throw new UncheckedIOException(new IOException("access-log.file: cannot open " + file
                    + " for appending (see the Logback status messages above)"));
        }
        return opened;
    }

    private static ConsoleAppender<ILoggingEvent> consoleAppender() {
        ConsoleAppender<ILoggingEvent> console = new ConsoleAppender<>();
        console.setTarget("System.out");
        return console;
    }

    private static FileAppender<ILoggingEvent> fileAppender(Path file) {
        checkWritable(file);
        FileAppender<ILoggingEvent> appender = new FileAppender<>();
        appender.setFile(file.toString());
        appender.setAppend(true);
        return appender;
    }

    /** Opens the file once here because Logback reports a failure only as a status message. */
    private static void checkWritable(Path file) {
        try (OutputStream ignored = Files.newOutputStream(file, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND)) {
            return;
        } catch (IOException e) {
            throw new UncheckedIOException("access-log.file: cannot open " + file + " for appending: "
                    + e.getMessage(), e);
        }
    }

    private static void stopAppender(OutputStreamAppender<ILoggingEvent> appender) {
        if (appender != null) {
            appender.stop();
        }
    }

    private void writeLoop() {
        List<String> batch = new ArrayList<>(BATCH_LINES);
        while (!closing || !queue.isEmpty()) {
            try {
                String first = queue.poll(POLL_MILLIS, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                batch.add(first);
                queue.drainTo(batch, BATCH_LINES - 1);
                append(batch);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (RuntimeException e) {
                log.warn("access log: writing {} lines failed: {}", batch.size(), e.toString(), e);
            }
            batch.clear();
        }
    }

    private synchronized void append(List<String> lines) {
        if (appender == null) {
            return;
        }
        for (String line : lines) {
            appender.doAppend(new LoggingEvent(AccessLog.class.getName(), accessLogger, Level.INFO, line, null,
                    null));
        }
    }
}
