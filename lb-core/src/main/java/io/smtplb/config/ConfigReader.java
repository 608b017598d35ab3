package io.smtplb.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigList;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigOrigin;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Reads typed values from one object of the configuration (the top level, a section or one listener, pool or
 * backend entry) and records a {@link ConfigProblem} for each value that is missing, of the wrong type or out of
 * range.
 *
 * <p>A method that finds a problem returns a harmless placeholder (the lower bound, an empty list, the first
 * enum constant) so that reading goes on and later problems are found too; the loader throws before any
 * placeholder can reach a {@link Settings} object.
 *
 * <p>For an entry merged over {@code smtplb.defaults}, a problem with a key the entry does not set itself is
 * reported at the defaults key, where the user can fix it, and only once however many entries inherit it.
 */
final class ConfigReader {

    /** A string element of a list, or the one string written where a list is accepted. */
    record Item(String text, ConfigValue value, String path) {
    }

    private static final Pattern BARE_NUMBER = Pattern.compile("\\s*-?[0-9]+(\\.[0-9]+)?\\s*");

    private final Config config;
    private final Config userEntry;
    private final String path;
    private final String defaultsPath;
    private final ProblemCollector problems;

    private ConfigReader(Config config, Config userEntry, String path, String defaultsPath, ProblemCollector problems) {
        this.config = config;
        this.userEntry = userEntry;
        this.path = path;
        this.defaultsPath = defaultsPath;
        this.problems = problems;
    }

    /**
     * Creates a reader for an object without defaults of its own, such as {@code smtplb}.
     *
     * @param merged the object merged with {@code reference.conf}, for the values
     * @param user the same object as the user's file has it, for the line of problems about the whole object
     */
    static ConfigReader of(ConfigObject merged, ConfigObject user, String path, ProblemCollector problems) {
        return new ConfigReader(merged.toConfig(), user.toConfig(), path, null, problems);
    }

    /** Creates a reader for a user entry merged over the defaults found at {@code defaultsPath}. */
    static ConfigReader ofEntry(ConfigObject entry, ConfigObject defaults, String path, String defaultsPath,
                                ProblemCollector problems) {
        Config userEntry = entry.toConfig();
        return new ConfigReader(userEntry.withFallback(defaults), userEntry, path, defaultsPath, problems);
    }

    /**
     * Returns a reader for the nested object {@code key}. When the value is not an object the reader is empty,
     * and its problems fall under the path that the schema check already reported as broken.
     */
    ConfigReader section(String key) {
        String nestedPath = KeyPaths.child(path, key);
        ConfigObject effective = LoadContext.objectOrEmpty(config.root().get(key));
        ConfigValue userValue = userEntry == null ? null : userEntry.root().get(key);
        boolean userValueBroken = userValue != null && userValue.valueType() != ConfigValueType.OBJECT;
        if (userEntry == null || userValueBroken) {
            return new ConfigReader(effective.toConfig(), null, nestedPath, null, problems);
        }

        Config nestedUser = LoadContext.objectOrEmpty(userValue).toConfig();
        String nestedDefaults = defaultsPath == null ? null : KeyPaths.child(defaultsPath, key);
        return new ConfigReader(effective.toConfig(), nestedUser, nestedPath, nestedDefaults, problems);
    }

    /** Returns the key path of this object, such as {@code smtplb.pools.relays}. */
    String path() {
        return path;
    }

    /**
     * Returns where this object starts in the user's file. The merged object's origin is a poor substitute: it
     * names the user's file and reference.conf together, without a line.
     */
    ConfigOrigin origin() {
        boolean inUserFile = userEntry != null && userEntry.root().origin().lineNumber() > 0;
        return inUserFile ? userEntry.root().origin() : config.root().origin();
    }

    /** Returns whether the entry itself sets {@code key}, as opposed to inheriting it from the defaults. */
    boolean isSetInEntry(String key) {
        Config source = userEntry != null ? userEntry : config;
        return source.root().containsKey(key);
    }

    /** Returns the key path to report for {@code key}: the defaults key when the value was inherited. */
    String keyPath(String key) {
        if (defaultsPath != null && !userEntry.root().containsKey(key)) {
            return KeyPaths.child(defaultsPath, key);
        }
        return KeyPaths.child(path, key);
    }

    /** Returns the value of {@code key}, or {@code null} when it is absent. */
    ConfigValue rawValue(String key) {
        return config.root().get(key);
    }

    /** Records a problem with the value of {@code key}: {@code <value> <detail>}. */
    void report(String key, ConfigValue value, String detail) {
        problems.add(value.origin(), keyPath(key), KeyPaths.describe(value) + " " + detail);
    }

    /** Records a problem with a list element or other value at its own path. */
    void reportAt(ConfigValue value, String valuePath, String message) {
        problems.add(value.origin(), valuePath, message);
    }

    /** Records a problem about this object as a whole, at the line where it starts. */
    void reportOnEntry(String key, String message) {
        problems.add(origin(), KeyPaths.child(path, key), message);
    }

    /** Reads a string; numbers and booleans are taken as written. Returns {@code null} after a problem. */
    String string(String key, String expected) {
        ConfigValue value = present(key, expected);
        if (value == null) {
            return null;
        }
        if (!isScalar(value)) {
            wrongType(key, value, expected);
            return null;
        }
        return String.valueOf(value.unwrapped());
    }

    /**
     * Reads a string that the entry must set itself because it has no default, such as a backend's address.
     * Returns {@code null} after a problem.
     */
    String requiredString(String key, String expected) {
        if (!isSetInEntry(key)) {
            reportOnEntry(key, "missing (expected: " + expected + ")");
            return null;
        }
        return string(key, expected);
    }

    boolean bool(String key) {
        ConfigValue value = present(key, "on or off");
        if (value == null) {
            return false;
        }
        if (value.valueType() == ConfigValueType.BOOLEAN) {
            return (Boolean) value.unwrapped();
        }

        String text = value.valueType() == ConfigValueType.STRING ? (String) value.unwrapped() : "";
        switch (text) {
            case "on", "true", "yes":
                return true;
            case "off", "false", "no":
                return false;
            default:
                wrongType(key, value, "on or off");
                return false;
        }
    }

    /** Reads an integer in {@code min..max}; {@code Integer.MAX_VALUE} as {@code max} means no upper bound. */
    int integer(String key, int min, int max) {
        String expected = max == Integer.MAX_VALUE ? ">= " + min : min + ".." + max;
        ConfigValue value = present(key, "an integer " + expected);
        if (value == null) {
            return min;
        }

        Long number = integerOf(value);
        if (number == null) {
            wrongType(key, value, "an integer " + expected);
            return min;
        }
        if (number < min || number > max) {
            report(key, value, "(expected: " + expected + ")");
            return min;
        }
        return number.intValue();
    }

    /** Reads a decimal number of at least {@code min}. */
    double decimal(String key, double min) {
        String expected = ">= " + formatDecimal(min);
        ConfigValue value = present(key, "a number " + expected);
        if (value == null) {
            return min;
        }

        Double number = decimalOf(value);
        if (number == null) {
            wrongType(key, value, "a number " + expected);
            return min;
        }
        if (number < min) {
            report(key, value, "(expected: " + expected + ")");
            return min;
        }
        return number;
    }

    /** Reads a duration greater than zero. */
    Duration positiveDuration(String key) {
        return duration(key, false);
    }

    /** Reads a duration of zero or more. */
    Duration nonNegativeDuration(String key) {
        return duration(key, true);
    }

    /** Reads one of the constants of {@code type}, written in lower case with dashes for underscores. */
    <E extends Enum<E>> E choice(String key, Class<E> type) {
        E[] constants = type.getEnumConstants();
        List<String> names = new ArrayList<>();
        for (E constant : constants) {
            names.add(configName(constant));
        }
        String expected = KeyPaths.alternatives(names);

        ConfigValue value = present(key, expected);
        if (value == null) {
            return constants[0];
        }
        String text = isScalar(value) ? String.valueOf(value.unwrapped()).trim().toLowerCase(Locale.ROOT) : "";
        int index = names.indexOf(text);
        if (index < 0) {
            wrongType(key, value, expected);
            return constants[0];
        }
        return constants[index];
    }

    /**
     * Reads a list of strings. A single string is accepted as a list of one, and is reported at the key path
     * itself rather than at {@code [0]}.
     */
    List<Item> strings(String key, String elementExpected) {
        String expected = "a list of " + elementExpected;
        ConfigValue value = present(key, expected);
        if (value == null) {
            return List.of();
        }
        if (value.valueType() == ConfigValueType.STRING) {
            return List.of(new Item((String) value.unwrapped(), value, keyPath(key)));
        }
        if (value.valueType() != ConfigValueType.LIST) {
            wrongType(key, value, expected);
            return List.of();
        }
        return listItems(key, (ConfigList) value, elementExpected);
    }

    /** Reads a list of networks in CIDR notation. */
    List<Cidr> networks(String key) {
        List<Cidr> networks = new ArrayList<>();
        for (Item item : strings(key, "networks like 10.0.0.0/8")) {
            try {
                networks.add(Cidr.parse(item.text()));
            } catch (IllegalArgumentException e) {
                reportAt(item.value(), item.path(), e.getMessage());
            }
        }
        return networks;
    }

    /** Returns the name of an enum constant as written in the file: lower case, dashes for underscores. */
    static String configName(Enum<?> constant) {
        return constant.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    private List<Item> listItems(String key, ConfigList list, String elementExpected) {
        List<Item> items = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            ConfigValue element = list.get(i);
            String elementPath = KeyPaths.element(keyPath(key), i);
            if (element.valueType() == ConfigValueType.STRING) {
                items.add(new Item((String) element.unwrapped(), element, elementPath));
            } else {
                reportAt(element, elementPath,
                        KeyPaths.describe(element) + " (expected: " + elementExpected + ")");
            }
        }
        return items;
    }

    private Duration duration(String key, boolean zeroAllowed) {
        String expected = zeroAllowed ? "a duration >= 0, like 30s" : "a duration > 0, like 30s";
        ConfigValue value = present(key, expected);
        if (value == null) {
            return Duration.ofSeconds(1);
        }

        Duration duration = durationOf(key, value);
        if (duration == null) {
            wrongType(key, value, expected);
            return Duration.ofSeconds(1);
        }
        boolean inRange = zeroAllowed ? !duration.isNegative() : !duration.isNegative() && !duration.isZero();
        if (!inRange) {
            report(key, value, "(expected: " + (zeroAllowed ? ">= 0" : "> 0") + ")");
            return Duration.ofSeconds(1);
        }
        return duration;
    }

    /**
     * Converts a duration written with a unit. Typesafe Config reads a bare number as milliseconds, which
     * turns {@code idle = 600} into 0.6 seconds; a unit is required so that no one gets that by accident.
     */
    private Duration durationOf(String key, ConfigValue value) {
        if (value.valueType() != ConfigValueType.STRING) {
            return null;
        }
        if (BARE_NUMBER.matcher((String) value.unwrapped()).matches()) {
            return null;
        }
        try {
            return value.atKey(key).getDuration(key);
        } catch (ConfigException e) {
            return null;
        }
    }

    private static Long integerOf(ConfigValue value) {
        Double number = decimalOf(value);
        if (number == null || number != Math.rint(number) || Math.abs(number) > Long.MAX_VALUE / 2.0) {
            return null;
        }
        return number.longValue();
    }

    private static Double decimalOf(ConfigValue value) {
        if (value.valueType() == ConfigValueType.NUMBER) {
            return ((Number) value.unwrapped()).doubleValue();
        }
        if (value.valueType() != ConfigValueType.STRING) {
            return null;
        }
        try {
            double number = Double.parseDouble(((String) value.unwrapped()).trim());
            return Double.isFinite(number) ? number : null;
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private ConfigValue present(String key, String expected) {
        ConfigValue value = config.root().get(key);
        if (value == null) {
            problems.add(origin(), keyPath(key), "missing (expected: " + expected + ")");
            return null;
        }
        if (value.valueType() == ConfigValueType.NULL) {
            report(key, value, "(expected: " + expected + ")");
            return null;
        }
        return value;
    }

    private void wrongType(String key, ConfigValue value, String expected) {
        report(key, value, "(expected: " + expected + ")");
    }

    private static boolean isScalar(ConfigValue value) {
        ConfigValueType type = value.valueType();
        return type == ConfigValueType.STRING || type == ConfigValueType.NUMBER || type == ConfigValueType.BOOLEAN;
    }

    private static String formatDecimal(double number) {
        return number == Math.rint(number) ? String.valueOf((long) number) : String.valueOf(number);
    }
}
