package io.smtplb.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Parsed {@code --name value} options and {@code --flag} switches of a bench tool.
 *
 * <p>Every option a tool accepts is declared up front, so a misspelt option fails instead of being ignored.
 * Options may repeat; {@link #all} returns every value in order.
 */
final class CommandLine {

    /** A command line that cannot be used; the message names the option, the value and what was expected. */
    static final class UsageException extends RuntimeException {
        UsageException(String message) {
            super(message);
        }
    }

    private final Map<String, List<String>> values;
    private final Set<String> flags;

    private CommandLine(Map<String, List<String>> values, Set<String> flags) {
        this.values = values;
        this.flags = flags;
    }

    /**
     * Parses {@code args} against the declared options.
     *
     * @param valueOptions names (without {@code --}) of options that take a value
     * @param flagOptions names of switches that take none
     */
    static CommandLine parse(String[] args, Set<String> valueOptions, Set<String> flagOptions) {
        Map<String, List<String>> values = new HashMap<>();
        Set<String> flags = new HashSet<>();
        for (int i = 0; i < args.length; i++) {
            String name = optionName(args[i]);
            if (flagOptions.contains(name)) {
                flags.add(name);
            } else if (valueOptions.contains(name)) {
                if (i + 1 >= args.length) {
                    throw new UsageException("--" + name + ": missing value");
                }
                values.computeIfAbsent(name, key -> new ArrayList<>()).add(args[++i]);
            } else {
                throw new UsageException(args[i] + ": unknown option (expected one of: "
                        + describe(valueOptions, flagOptions) + ")");
            }
        }
        return new CommandLine(values, flags);
    }

    boolean flag(String name) {
        return flags.contains(name);
    }

    boolean has(String name) {
        return values.containsKey(name);
    }

    /** Returns every value given for a repeatable option, in command-line order. */
    List<String> all(String name) {
        return values.getOrDefault(name, List.of());
    }

    String string(String name, String defaultValue) {
        List<String> given = values.get(name);
        return given == null ? defaultValue : given.get(given.size() - 1);
    }

    long longValue(String name, long defaultValue, long min, long max) {
        String text = string(name, null);
        if (text == null) {
            return defaultValue;
        }
        long value;
        try {
            value = Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + ": " + text + " (expected: an integer " + min + ".." + max + ")");
        }
        return checkRange(name, text, value, min, max);
    }

    int intValue(String name, int defaultValue, int min, int max) {
        return (int) longValue(name, defaultValue, min, max);
    }

    double doubleValue(String name, double defaultValue, double minExclusive) {
        String text = string(name, null);
        if (text == null) {
            return defaultValue;
        }
        try {
            double value = Double.parseDouble(text);
            if (value > minExclusive && Double.isFinite(value)) {
                return value;
            }
        } catch (NumberFormatException e) {
            // Reported below with the expected form.
        }
        throw new UsageException("--" + name + ": " + text + " (expected: a number above " + minExclusive + ")");
    }

    /** Parses a duration written as a number with a unit: {@code 250ms}, {@code 10s}, {@code 2m}. */
    Duration duration(String name, Duration defaultValue) {
        String text = string(name, null);
        return text == null ? defaultValue : parseDuration(name, text);
    }

    /** Parses a size in bytes, optionally with a binary suffix: {@code 512}, {@code 4KiB}, {@code 1MiB}. */
    long bytes(String name, long defaultValue) {
        String text = string(name, null);
        return text == null ? defaultValue : parseBytes(name, text);
    }

    static Duration parseDuration(String name, String text) {
        String lower = text.trim().toLowerCase(Locale.ROOT);
        try {
            if (lower.endsWith("ms")) {
                return Duration.ofMillis(Long.parseLong(lower.substring(0, lower.length() - 2)));
            }
            if (lower.endsWith("s")) {
                return Duration.ofMillis(Math.round(Double.parseDouble(lower.substring(0, lower.length() - 1)) * 1000));
            }
            if (lower.endsWith("m")) {
                return Duration.ofSeconds(Long.parseLong(lower.substring(0, lower.length() - 1)) * 60);
            }
        } catch (NumberFormatException e) {
            // Reported below with the expected form.
        }
        throw new UsageException("--" + name + ": " + text + " (expected: a duration such as 250ms, 10s or 2m)");
    }

    static long parseBytes(String name, String text) {
        String trimmed = text.trim();
        long multiplier = 1;
        String digits = trimmed;
        if (trimmed.endsWith("KiB") || trimmed.endsWith("k")) {
            multiplier = 1024;
            digits = trimmed.substring(0, trimmed.length() - (trimmed.endsWith("k") ? 1 : 3));
        } else if (trimmed.endsWith("MiB") || trimmed.endsWith("M")) {
            multiplier = 1024 * 1024;
            digits = trimmed.substring(0, trimmed.length() - (trimmed.endsWith("M") ? 1 : 3));
        }
        try {
            long value = Long.parseLong(digits) * multiplier;
            if (value >= 0) {
                return value;
            }
        } catch (NumberFormatException e) {
            // Reported below with the expected form.
        }
        throw new UsageException("--" + name + ": " + text + " (expected: a size such as 2048, 4KiB or 1MiB)");
    }

    private static long checkRange(String name, String text, long value, long min, long max) {
        if (value < min || value > max) {
            throw new UsageException("--" + name + ": " + text + " (expected: " + min + ".." + max + ")");
        }
        return value;
    }

    private static String optionName(String arg) {
        return arg.startsWith("--") ? arg.substring(2) : "\0" + arg;
    }

    private static String describe(Set<String> valueOptions, Set<String> flagOptions) {
        List<String> names = new ArrayList<>();
        valueOptions.forEach(name -> names.add("--" + name));
        flagOptions.forEach(name -> names.add("--" + name));
        names.sort(null);
        return String.join(", ", names);
    }
}
