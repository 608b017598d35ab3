package io.smtplb.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * CPU time of processes, read from {@code /proc/PID/stat} (Linux only): user plus system time of all threads.
 */
final class ProcessCpu {

    /**
     * Clock ticks per second of the utime and stime fields. Linux fixes USER_HZ at 100 in its ABI on x86 and
     * arm64, which is what {@code getconf CLK_TCK} prints there.
     */
    static final double TICKS_PER_SECOND = 100.0;

    private ProcessCpu() {
    }

    /**
     * Returns the CPU seconds used so far by all {@code pids} together, or NaN if any of them cannot be read
     * (no PIDs given, the process has exited, or this is not Linux).
     */
    static double seconds(List<Long> pids) {
        if (pids.isEmpty()) {
            return Double.NaN;
        }
        long ticks = 0;
        for (long pid : pids) {
            long processTicks = ticks(pid);
            if (processTicks < 0) {
                return Double.NaN;
            }
            ticks += processTicks;
        }
        return ticks / TICKS_PER_SECOND;
    }

    /** Returns utime + stime of one process in ticks, or -1 if it cannot be read. */
    static long ticks(long pid) {
        String stat;
        try {
            stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        } catch (IOException e) {
            return -1;
        }
        // The command name (field 2) is in parentheses and may contain spaces, so fields are counted after
        // its closing parenthesis: field 3 (state) comes first, utime is field 14, stime field 15.
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
    }
}
