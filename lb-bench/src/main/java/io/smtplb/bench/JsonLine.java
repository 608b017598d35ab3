package io.smtplb.bench;

import java.util.Locale;
import java.util.Map;

/** Builds one JSON object on one line; numbers that are NaN or infinite are written as {@code null}. */
final class JsonLine {

    private final StringBuilder text = new StringBuilder("{");

    JsonLine add(String key, String value) {
        key(key);
        if (value == null) {
            text.append("null");
        } else {
            quote(value);
        }
        return this;
    }

    JsonLine add(String key, long value) {
        key(key);
        text.append(value);
        return this;
    }

    JsonLine add(String key, double value) {
        key(key);
        text.append(Double.isFinite(value) ? String.format(Locale.ROOT, "%.4f", value) : "null");
        return this;
    }

    /** Adds a nested object of counts, such as failures by kind. */
    JsonLine addCounts(String key, Map<String, Long> counts) {
        key(key);
        text.append('{');
        boolean first = true;
        for (Map.Entry<String, Long> entry : counts.entrySet()) {
            if (!first) {
                text.append(',');
            }
            first = false;
            quote(entry.getKey());
            text.append(':').append(entry.getValue());
        }
        text.append('}');
        return this;
    }

    /** Adds a nested object of strings, such as the first detail of each failure kind. */
    JsonLine addStrings(String key, Map<String, String> values) {
        key(key);
        text.append('{');
        boolean first = true;
        for (Map.Entry<String, String> entry : values.entrySet()) {
            if (!first) {
                text.append(',');
            }
            first = false;
            quote(entry.getKey());
            text.append(':');
            quote(entry.getValue());
        }
        text.append('}');
        return this;
    }

    @Override
    public String toString() {
        return text + "}";
    }

    private void key(String key) {
        if (text.length() > 1) {
            text.append(',');
        }
        quote(key);
        text.append(':');
    }

    private void quote(String value) {
        text.append('"');
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
                case '"' -> text.append("\\\"");
                case '\\' -> text.append("\\\\");
                case '\n' -> text.append("\\n");
                case '\r' -> text.append("\\r");
                case '\t' -> text.append("\\t");
                default -> {
                    if (c < 0x20) {
                        text.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        text.append(c);
                    }
                }
            }
        }
        text.append('"');
    }
}
