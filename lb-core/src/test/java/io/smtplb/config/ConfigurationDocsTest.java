package io.smtplb.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValue;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Keeps docs/configuration.md and reference.conf in step: every key of reference.conf must have a row in a
 * table of the docs, and every row must name a key that exists.
 *
 * <p>The docs name keys as users write them: {@code smtplb.defaults.listener.allow} is documented as
 * {@code listeners.<name>.allow}, and the top-level keys without the {@code smtplb.} prefix.
 */
class ConfigurationDocsTest {

    private static final Path REFERENCE = Path.of("src", "main", "resources", "reference.conf");
    private static final Path DOCS = Path.of("..", "docs", "configuration.md");

    /** Keys that entries must set themselves, so reference.conf has no default for them. */
    private static final Set<String> ENTRY_KEYS = Set.of(
            "listeners.<name>.bind", "listeners.<name>.pool", "pools.<name>.backends",
            "pools.<name>.backends[].name", "pools.<name>.backends[].address", "pools.<name>.backends[].send-proxy");

    /** A table row whose first cell is a key in backticks: {@code | `pools.<name>.balance` | ...}. */
    private static final Pattern KEY_ROW = Pattern.compile("^\\| `([^`]+)` \\|", Pattern.MULTILINE);

    @Test
    void everyReferenceKeyIsDocumented() throws Exception {
        Set<String> documented = documentedKeys();

        List<String> missing = new ArrayList<>();
        for (String key : referenceKeys()) {
            if (!documented.contains(key)) {
                missing.add(key);
            }
        }

        assertThat(missing).as("keys of %s without a row in %s", REFERENCE, DOCS).isEmpty();
    }

    @Test
    void everyDocumentedKeyExists() throws Exception {
        Set<String> known = new TreeSet<>(referenceKeys());
        known.addAll(ENTRY_KEYS);

        List<String> unknown = new ArrayList<>();
        for (String key : documentedKeys()) {
            if (!known.contains(key)) {
                unknown.add(key);
            }
        }

        assertThat(unknown).as("rows in %s for keys that %s does not have", DOCS, REFERENCE).isEmpty();
    }

    @Test
    void entryKeysWithoutDefaultsAreDocumented() throws Exception {
        assertThat(documentedKeys()).containsAll(ENTRY_KEYS);
    }

    /** Returns every leaf key of reference.conf, named as the docs name it. */
    private static Set<String> referenceKeys() throws Exception {
        assertThat(REFERENCE).as("reference.conf, relative to the lb-core module").exists();
        Config smtplb = ConfigFactory.parseFile(REFERENCE.toFile()).getConfig("smtplb");

        Set<String> keys = new TreeSet<>();
        for (Map.Entry<String, ConfigValue> entry : smtplb.entrySet()) {
            keys.add(documentedName(entry.getKey()));
        }
        keys.add("listeners");
        keys.add("pools");
        return keys;
    }

    private static String documentedName(String referencePath) {
        return referencePath
                .replaceFirst("^defaults\\.listener\\.", "listeners.<name>.")
                .replaceFirst("^defaults\\.pool\\.", "pools.<name>.")
                .replaceFirst("^defaults\\.backend\\.", "pools.<name>.backends[].");
    }

    private static Set<String> documentedKeys() throws Exception {
        assertThat(DOCS).as("docs/configuration.md, relative to the lb-core module").exists();
        Matcher matcher = KEY_ROW.matcher(Files.readString(DOCS));

        Set<String> keys = new TreeSet<>();
        while (matcher.find()) {
            keys.add(matcher.group(1));
        }
        return keys;
    }
}
