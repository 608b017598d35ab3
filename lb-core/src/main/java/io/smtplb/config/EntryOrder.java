package io.smtplb.config;

import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigValue;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/** Orders the named entries of an object as they appear in the file. */
final class EntryOrder {

    private EntryOrder() {
    }

    /**
     * Returns the entries of {@code object} ordered by the line they start on, then by name. Typesafe Config keeps
     * object keys in a hash map, so the line number is the only record of the order in the file.
     */
    static List<Map.Entry<String, ConfigValue>> inFileOrder(ConfigObject object) {
        List<Map.Entry<String, ConfigValue>> entries = new ArrayList<>(object.entrySet());
        Comparator<Map.Entry<String, ConfigValue>> byLine =
                Comparator.comparingInt(entry -> entry.getValue().origin().lineNumber());
        entries.sort(byLine.thenComparing(Map.Entry::getKey));
        return entries;
    }
}
