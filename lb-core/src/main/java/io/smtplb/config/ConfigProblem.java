package io.smtplb.config;

/**
 * One problem found in a configuration file.
 *
 * <p>{@link #toString()} reads like a compiler message, for example
 * {@code smtplb.conf:12: smtplb.pools.relays.backends[2].weight: 0 (expected: 1..256)}.
 *
 * @param file the file (or resource) that contains the offending value, as the user named it
 * @param line the 1-based line of the value, or 0 when the problem has no line (a missing file)
 * @param path the key path of the value, list elements as {@code [index]} counted from 0, or {@code ""}
 *             when the problem concerns the whole file (a syntax error)
 * @param message the value and what was expected, such as {@code 0 (expected: 1..256)}
 */
public record ConfigProblem(String file, int line, String path, String message) {

    @Override
    public String toString() {
        StringBuilder text = new StringBuilder(file);
        if (line > 0) {
            text.append(':').append(line);
        }
        text.append(": ");
        if (!path.isEmpty()) {
            text.append(path).append(": ");
        }
        return text.append(message).toString();
    }
}
