package io.smtplb.admin;

/**
 * A minimal JSON writer with two-space indentation, enough for the admin API's responses. The caller nests
 * {@code begin}/{@code end} calls correctly; the writer tracks only where commas go.
 *
 * <pre>{@code
 * String json = new JsonWriter().beginObject().field("name", "mx1").field("up", true)
 *         .name("weights").beginArray().value(3).value(1).endArray().endObject().toString();
 * }</pre>
 */
final class JsonWriter {

    private final StringBuilder out = new StringBuilder(1024);
    private int depth;
    /** Whether the current object or array has a member already, so the next one needs a comma. */
    private boolean hasMember;
    /** Whether a field name was just written, so the value follows on the same line. */
    private boolean afterName;

    JsonWriter beginObject() {
        return open('{');
    }

    JsonWriter endObject() {
        return close('}');
    }

    JsonWriter beginArray() {
        return open('[');
    }

    JsonWriter endArray() {
        return close(']');
    }

    /** Writes a field name; the next call writes its value. */
    JsonWriter name(String name) {
        separate();
        string(name);
        out.append(": ");
        afterName = true;
        return this;
    }

    JsonWriter value(String value) {
        separate();
        if (value == null) {
            out.append("null");
        } else {
            string(value);
        }
        return this;
    }

    JsonWriter value(long value) {
        separate();
        out.append(value);
        return this;
    }

    /** Writes a number, or {@code null} for NaN and infinities, which JSON cannot represent. */
    JsonWriter value(double value) {
        separate();
        if (Double.isNaN(value) || Double.isInfinite(value)) {
            out.append("null");
        } else {
            out.append(value);
        }
        return this;
    }

    JsonWriter value(boolean value) {
        separate();
        out.append(value);
        return this;
    }

    JsonWriter nullValue() {
        separate();
        out.append("null");
        return this;
    }

    JsonWriter field(String name, String value) {
        return name(name).value(value);
    }

    JsonWriter field(String name, long value) {
        return name(name).value(value);
    }

    JsonWriter field(String name, double value) {
        return name(name).value(value);
    }

    JsonWriter field(String name, boolean value) {
        return name(name).value(value);
    }

    /** Returns the document, with a final newline. */
    @Override
    public String toString() {
        return out + "\n";
    }

    private JsonWriter open(char bracket) {
        separate();
        out.append(bracket);
        depth++;
        hasMember = false;
        return this;
    }

    private JsonWriter close(char bracket) {
        depth--;
        if (hasMember) {
            newline();
        }
        out.append(bracket);
        hasMember = true;
        return this;
    }

    private void separate() {
        if (afterName) {
            afterName = false;
            return;
        }
        if (hasMember) {
            out.append(',');
        }
        if (depth > 0) {
            newline();
        }
        hasMember = true;
    }

    private void newline() {
        out.append('\n');
        for (int i = 0; i < depth; i++) {
            out.append("  ");
        }
    }

    private void string(String value) {
        out.append('"');
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < ' ' || c == '\u2028' || c == '\u2029') {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}
