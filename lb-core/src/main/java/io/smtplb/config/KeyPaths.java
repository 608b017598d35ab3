package io.smtplb.config;

import com.typesafe.config.ConfigUtil;
import com.typesafe.config.ConfigValue;

import java.util.List;
import java.util.regex.Pattern;

/** Builds the key paths and value descriptions that appear in {@link ConfigProblem}s. */
final class KeyPaths {

    private static final Pattern PLAIN_KEY = Pattern.compile("[A-Za-z0-9_-]+");
    private static final Pattern PLAIN_VALUE = Pattern.compile("[A-Za-z0-9._:/@+\\[\\]-]+");

    private KeyPaths() {
    }

    /** Appends {@code key} to {@code path}, quoting the key when it contains a dot or other special character. */
    static String child(String path, String key) {
        String element = PLAIN_KEY.matcher(key).matches() ? key : ConfigUtil.joinPath(key);
        return path.isEmpty() ? element : path + "." + element;
    }

    /** Appends a 0-based list index to {@code path}. */
    static String element(String path, int index) {
        return path + "[" + index + "]";
    }

    /** Describes a value for a message: scalars as written, containers by their kind. */
    static String describe(ConfigValue value) {
        switch (value.valueType()) {
            case OBJECT:
                return "an object";
            case LIST:
                return "a list";
            case NULL:
                return "null";
            case STRING:
                return text((String) value.unwrapped());
            default:
                return value.render();
        }
    }

    /** Shows a string as written when it is plain, and in quotes when it is empty or has spaces or symbols. */
    static String text(String value) {
        return PLAIN_VALUE.matcher(value).matches() ? value : ConfigUtil.quoteString(value);
    }

    /** Joins alternatives as {@code a, b or c}. */
    static String alternatives(List<String> words) {
        if (words.size() == 1) {
            return words.get(0);
        }
        String head = String.join(", ", words.subList(0, words.size() - 1));
        return head + " or " + words.get(words.size() - 1);
    }
}
