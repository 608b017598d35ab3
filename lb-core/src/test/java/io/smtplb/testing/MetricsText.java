package io.smtplb.testing;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A strict parser of the Prometheus text exposition format (version 0.0.4), for tests that assert metric
 * values after real traffic. It rejects what Prometheus would reject: a sample before its {@code # TYPE}, a
 * family declared twice, a bad name or label, an unparsable value, the same series twice, and counter samples
 * without {@code _total}.
 */
public final class MetricsText {

    private static final Pattern NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\\\n]|\\\\[\\\\\"n])*)\"");
    private static final Pattern SAMPLE = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{[^}]*\\})? (\\S+)( -?\\d+)?");

    private final Map<String, String> types = new HashMap<>();
    private final Map<String, String> help = new HashMap<>();
    private final Map<String, Double> samples = new LinkedHashMap<>();

    private MetricsText() {
    }

    /** Parses an exposition; throws {@link IllegalArgumentException} naming the line for anything invalid. */
    public static MetricsText parse(String text) {
        MetricsText metrics = new MetricsText();
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            if (line.isEmpty()) {
                continue;
            }
            try {
                metrics.parseLine(line);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("line " + (i + 1) + ": " + e.getMessage() + ": " + line, e);
            }
        }
        return metrics;
    }

    private void parseLine(String line) {
        if (line.startsWith("# HELP ")) {
            String[] parts = line.substring(7).split(" ", 2);
            requireName(parts[0]);
            if (help.put(parts[0], parts.length > 1 ? parts[1] : "") != null) {
                throw new IllegalArgumentException("second HELP for " + parts[0]);
            }
            return;
        }
        if (line.startsWith("# TYPE ")) {
            String[] parts = line.substring(7).split(" ");
            requireName(parts[0]);
            if (!List.of("counter", "gauge", "histogram", "summary", "untyped").contains(parts[1])) {
                throw new IllegalArgumentException("unknown type " + parts[1]);
            }
            if (types.put(parts[0], parts[1]) != null) {
                throw new IllegalArgumentException("second TYPE for " + parts[0]);
            }
            return;
        }
        if (line.startsWith("#")) {
            return;
        }
        parseSample(line);
    }

    private void parseSample(String line) {
        Matcher matcher = SAMPLE.matcher(line);
        if (!matcher.matches()) {
            throw new IllegalArgumentException("not a sample");
        }
        String name = matcher.group(1);
        String family = familyOf(name);
        if (family == null) {
            throw new IllegalArgumentException("sample " + name + " before its TYPE line");
        }
        if (types.get(family).equals("counter") && !name.endsWith("_total") && !name.endsWith("_created")) {
            throw new IllegalArgumentException("counter sample " + name + " without _total");
        }
        Map<String, String> labels = labels(matcher.group(2));
        double value = value(matcher.group(3));
        String key = key(name, labels);
        if (samples.put(key, value) != null) {
            throw new IllegalArgumentException("series " + key + " appears twice");
        }
    }

    private String familyOf(String name) {
        if (types.containsKey(name)) {
            return name;
        }
        for (String suffix : List.of("_total", "_bucket", "_count", "_sum", "_created")) {
            if (name.endsWith(suffix)) {
                String base = name.substring(0, name.length() - suffix.length());
                if (types.containsKey(base)) {
                    return base;
                }
            }
        }
        return null;
    }

    private static Map<String, String> labels(String block) {
        Map<String, String> labels = new TreeMap<>();
        if (block == null || block.equals("{}")) {
            return labels;
        }
        String inner = block.substring(1, block.length() - 1);
        Matcher matcher = LABEL.matcher(inner);
        int position = 0;
        while (position < inner.length()) {
            if (!matcher.find(position) || matcher.start() != position) {
                throw new IllegalArgumentException("bad label at " + inner.substring(position));
            }
            if (labels.put(matcher.group(1), matcher.group(2)) != null) {
                throw new IllegalArgumentException("label " + matcher.group(1) + " twice");
            }
            position = matcher.end();
            if (position < inner.length()) {
                if (inner.charAt(position) != ',') {
                    throw new IllegalArgumentException("expected , between labels");
                }
                position++;
            }
        }
        return labels;
    }

    private static double value(String text) {
        return switch (text) {
            case "+Inf" -> Double.POSITIVE_INFINITY;
            case "-Inf" -> Double.NEGATIVE_INFINITY;
            case "NaN" -> Double.NaN;
            default -> Double.parseDouble(text);
        };
    }

    private static void requireName(String name) {
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("invalid metric name " + name);
        }
    }

    private static String key(String name, Map<String, String> labels) {
        return name + labels;
    }

    /**
     * Returns the value of one series, or {@code null} when absent.
     *
     * @param labelPairs label names and values, alternating: {@code "pool", "relays", "backend", "r1"}
     */
    public Double value(String name, String... labelPairs) {
        Map<String, String> labels = new TreeMap<>();
        for (int i = 0; i + 1 < labelPairs.length; i += 2) {
            labels.put(labelPairs[i], labelPairs[i + 1]);
        }
        return samples.get(key(name, labels));
    }

    /** Returns the type of a family, such as {@code counter}, or {@code null}. */
    public String type(String family) {
        return types.get(family);
    }

    /** Returns the help text of a family, or {@code null}. */
    public String help(String family) {
        return help.get(family);
    }

    /** Returns every series key ({@code name{label=value, ...}}) whose name starts with {@code prefix}. */
    public List<String> series(String prefix) {
        List<String> keys = new ArrayList<>();
        for (String key : samples.keySet()) {
            if (key.startsWith(prefix)) {
                keys.add(key);
            }
        }
        return keys;
    }

    /** Returns every declared family name. */
    public List<String> families() {
        return new ArrayList<>(types.keySet());
    }
}
