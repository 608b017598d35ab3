package io.smtplb.config;

import com.typesafe.config.ConfigList;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;

import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The shape a configuration must have: which keys exist at each level. It is derived from
 * {@code reference.conf}, so a key added there is known everywhere at once.
 *
 * <p>{@link #check} reports unknown keys with the closest known key as a hint, containers of the wrong kind,
 * and entry names that cannot be used as names. Value types and ranges are checked later, while reading.
 */
final class ConfigSchema {

    static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]*");
    static final String NAME_EXPECTED = "a name of letters, digits, '.', '_' and '-'";

    /** One level of the expected structure. */
    private sealed interface Node permits Leaf, Section, Entries, Elements {
    }

    /** A value: its type is checked by the reader. */
    private record Leaf() implements Node {
    }

    /** An object with a fixed set of keys; {@code expected} describes it in messages. */
    private record Section(Map<String, Node> keys, String expected) implements Node {

        Section describedAs(String description) {
            return new Section(keys, description);
        }
    }

    /** An object whose keys are names chosen by the user, each holding the same kind of entry. */
    private record Entries(Node entry) implements Node {
    }

    /** A list whose elements are all of one kind. */
    private record Elements(Node element) implements Node {
    }

    private final Section root;

    private ConfigSchema(Section root) {
        this.root = root;
    }

    /** Derives the schema from the {@code smtplb} object of {@code reference.conf}. */
    static ConfigSchema fromReference(ConfigObject smtplb) {
        ConfigObject defaults = (ConfigObject) smtplb.get("defaults");

        Section listener = section((ConfigObject) defaults.get("listener"))
                .describedAs("an object with bind and pool");
        listener.keys().put("bind", new Leaf());
        listener.keys().put("pool", new Leaf());

        Section backend = section((ConfigObject) defaults.get("backend"))
                .describedAs("an object with name and address");
        backend.keys().put("name", new Leaf());
        backend.keys().put("address", new Leaf());
        backend.keys().put("send-proxy", new Leaf());

        Section pool = section((ConfigObject) defaults.get("pool")).describedAs("an object with backends");
        pool.keys().put("backends", new Elements(backend));

        Section top = section(smtplb);
        top.keys().put("listeners", new Entries(listener));
        top.keys().put("pools", new Entries(pool));

        Map<String, Node> rootKeys = new TreeMap<>();
        rootKeys.put("smtplb", top);
        return new ConfigSchema(new Section(rootKeys, "an object"));
    }

    /** Reports every part of {@code config} that does not fit the schema. */
    void check(ConfigObject config, ProblemCollector problems) {
        checkSection(config, root, "", problems);
    }

    private void check(ConfigValue value, Node node, String path, ProblemCollector problems) {
        if (node instanceof Section section) {
            checkSection(value, section, path, problems);
        } else if (node instanceof Entries entries) {
            checkEntries(value, entries, path, problems);
        } else if (node instanceof Elements elements) {
            checkElements(value, elements, path, problems);
        }
    }

    private void checkSection(ConfigValue value, Section section, String path, ProblemCollector problems) {
        if (value.valueType() != ConfigValueType.OBJECT) {
            String message = KeyPaths.describe(value) + " (expected: " + section.expected() + ")";
            problems.addBroken(value.origin(), path, message);
            return;
        }

        for (Map.Entry<String, ConfigValue> entry : ((ConfigObject) value).entrySet()) {
            String key = entry.getKey();
            String keyPath = KeyPaths.child(path, key);
            Node child = section.keys().get(key);
            if (child == null) {
                problems.add(entry.getValue().origin(), keyPath, unknownKey(key, section, path));
            } else {
                check(entry.getValue(), child, keyPath, problems);
            }
        }
    }

    private void checkEntries(ConfigValue value, Entries entries, String path, ProblemCollector problems) {
        if (value.valueType() != ConfigValueType.OBJECT) {
            String message = KeyPaths.describe(value) + " (expected: an object of named entries)";
            problems.addBroken(value.origin(), path, message);
            return;
        }

        for (Map.Entry<String, ConfigValue> entry : ((ConfigObject) value).entrySet()) {
            String entryPath = KeyPaths.child(path, entry.getKey());
            if (!NAME.matcher(entry.getKey()).matches()) {
                problems.add(entry.getValue().origin(), entryPath,
                        "invalid name " + KeyPaths.text(entry.getKey()) + " (expected: " + NAME_EXPECTED + ")");
            }
            check(entry.getValue(), entries.entry(), entryPath, problems);
        }
    }

    private void checkElements(ConfigValue value, Elements elements, String path, ProblemCollector problems) {
        if (value.valueType() != ConfigValueType.LIST) {
            problems.addBroken(value.origin(), path, KeyPaths.describe(value) + " (expected: a list)");
            return;
        }

        ConfigList list = (ConfigList) value;
        for (int i = 0; i < list.size(); i++) {
            check(list.get(i), elements.element(), KeyPaths.element(path, i), problems);
        }
    }

    private String unknownKey(String key, Section section, String path) {
        if (path.isEmpty()) {
            return unknownRootKey(key);
        }

        Optional<String> suggestion = Spelling.closest(key, section.keys().keySet());
        if (suggestion.isPresent()) {
            return "unknown key (did you mean " + suggestion.get() + "?)";
        }
        return "unknown key (expected one of: " + String.join(", ", section.keys().keySet()) + ")";
    }

    /** Suggests {@code smtplb.<key>} for a key written at the top level that belongs inside {@code smtplb}. */
    private String unknownRootKey(String key) {
        if (Spelling.closest(key, root.keys().keySet()).isPresent()) {
            return "unknown key (did you mean smtplb?)";
        }

        Section smtplb = (Section) root.keys().get("smtplb");
        Optional<String> suggestion = Spelling.closest(key, smtplb.keys().keySet());
        if (suggestion.isPresent()) {
            return "unknown key (did you mean smtplb." + suggestion.get() + "?)";
        }
        return "unknown key (expected: smtplb)";
    }

    /** Builds a section with the keys of a reference object; nested objects become nested sections. */
    private static Section section(ConfigObject reference) {
        Map<String, Node> keys = new TreeMap<>();
        for (Map.Entry<String, ConfigValue> entry : reference.entrySet()) {
            boolean nested = entry.getValue().valueType() == ConfigValueType.OBJECT;
            keys.put(entry.getKey(), nested ? section((ConfigObject) entry.getValue()) : new Leaf());
        }
        return new Section(keys, "an object");
    }
}
