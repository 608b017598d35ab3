package io.smtplb.admin;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses the short durations that the admin API and {@code smtplb ctl} take, such as {@code 30s}. */
final class Durations {

    static final String EXPECTED = "a duration such as 30s, 500ms, 2m or 1h";
    private static final Pattern DURATION = Pattern.compile("(\\d{1,9})(ms|s|m|h)?");

    private Durations() {
    }

    /**
     * Parses {@code 500ms}, {@code 30s}, {@code 2m} or {@code 1h}; a bare number counts as seconds.
     *
     * @throws IllegalArgumentException naming the value and the expected form
     */
    static Duration parse(String name, String text) {
        Matcher matcher = DURATION.matcher(text.trim());
        if (!matcher.matches()) {
            throw new IllegalArgumentException(name + ": " + text + " (expected: " + EXPECTED + ")");
        }
        long amount = Long.parseLong(matcher.group(1));
        String unit = matcher.group(2) == null ? "s" : matcher.group(2);
        return switch (unit) {
            case "ms" -> Duration.ofMillis(amount);
            case "m" -> Duration.ofMinutes(amount);
            case "h" -> Duration.ofHours(amount);
            default -> Duration.ofSeconds(amount);
        };
    }
}
