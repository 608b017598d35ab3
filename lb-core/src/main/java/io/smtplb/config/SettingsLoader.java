package io.smtplb.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigResolveOptions;
import com.typesafe.config.ConfigSyntax;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Supplier;

/**
 * Loads and validates the smtplb configuration.
 *
 * <p>The user's HOCON file is merged over {@code reference.conf}, the only place where defaults live. Each entry
 * under {@code smtplb.listeners} and {@code smtplb.pools}, and each backend, is then merged over the matching
 * object under {@code smtplb.defaults}. Substitutions such as {@code ${?SMTPLB_ADMIN_TOKEN}} may name
 * environment variables.
 *
 * <p>Everything is checked before a {@link Settings} object exists: structure and unknown keys, types and
 * ranges, host names (resolved now), file names, pool references, overlapping binds and the safety rules for
 * open relays, the admin endpoint and PROXY headers. The caller binds no socket until this has passed. A
 * problem stops nothing until the whole file is read, so {@link InvalidConfigException#problems()} lists all of
 * them; only a syntax error or an unresolved substitution ends the check early, because the rest of the file
 * cannot be read then.
 *
 * <pre>{@code
 * Settings settings;
 * try {
 *     settings = SettingsLoader.load(Path.of("/etc/smtplb/smtplb.conf"));
 * } catch (InvalidConfigException e) {
 *     System.err.println(e.getMessage());   // one line per problem: file:line: key.path: value (expected: ...)
 *     System.exit(2);
 * }
 * }</pre>
 */
public final class SettingsLoader {

    private static final ConfigParseOptions PARSE_OPTIONS = ConfigParseOptions.defaults()
            .setSyntax(ConfigSyntax.CONF)
            .setAllowMissing(false);

    private SettingsLoader() {
    }

    /**
     * Loads and validates a configuration file. Relative file names inside it are resolved against its directory.
     *
     * @throws InvalidConfigException listing every problem found, including a missing or unreadable file
     */
    public static Settings load(Path file) throws InvalidConfigException {
        return load(file, HostResolver.SYSTEM);
    }

    /**
     * Parses and validates configuration text, for tests and tools. Relative file names are resolved against the
     * working directory; {@link Settings#source()} is {@code null}.
     *
     * @param originName the name that problems give as the file, such as {@code smtplb.conf}
     * @throws InvalidConfigException listing every problem found
     */
    public static Settings parse(String hocon, String originName) throws InvalidConfigException {
        return parse(hocon, originName, HostResolver.SYSTEM);
    }

    /**
     * Renders settings as a HOCON {@code smtplb} object that shows every effective value: the user's values merged
     * with the defaults, per entry. The admin token is masked. Host names are shown resolved, with the name in a
     * comment; a value of {@code ""} that the loader replaced (host name, HELO name) is shown as replaced.
     *
     * <p>Parsing the output again yields equal settings, except for a masked token and the source path.
     */
    public static String renderEffective(Settings settings) {
        return EffectiveConfigRenderer.render(settings);
    }

    static Settings load(Path file, HostResolver resolver) throws InvalidConfigException {
        String name = file.toString();
        if (!Files.isRegularFile(file)) {
            throw single(name, "file not found (expected: a readable configuration file)");
        }
        if (!Files.isReadable(file)) {
            throw single(name, "file not readable (expected: read permission for the user running smtplb)");
        }

        Config user = parseText(() -> ConfigFactory.parseFile(file.toFile(), PARSE_OPTIONS), name);
        return build(user, file, file.toAbsolutePath().getParent(), resolver);
    }

    static Settings parse(String hocon, String originName, HostResolver resolver) throws InvalidConfigException {
        ConfigParseOptions options = PARSE_OPTIONS.setOriginDescription(originName);
        Config user = parseText(() -> ConfigFactory.parseString(hocon, options), originName);
        return build(user, null, null, resolver);
    }

    private static Settings build(Config user, Path source, Path baseDirectory, HostResolver resolver)
            throws InvalidConfigException {
        Config reference = Reference.CONFIG;
        ProblemCollector problems = new ProblemCollector();

        Config merged = resolve(user.withFallback(reference));
        ConfigObject referenceSmtplb = reference.getObject("smtplb");
        ConfigSchema.fromReference(referenceSmtplb).check(merged.root(), problems);
        LoadContext context = new LoadContext(problems, resolver, baseDirectory);
        Settings settings = new SettingsReader(context, (ConfigObject) referenceSmtplb.get("defaults"))
                .read(merged.root(), user.root(), source);

        problems.throwIfAny();
        return settings;
    }

    private static Config parseText(Supplier<Config> parser, String name) throws InvalidConfigException {
        try {
            return parser.get();
        } catch (ConfigException e) {
            throw fromConfigException(e, name);
        }
    }

    private static Config resolve(Config config) throws InvalidConfigException {
        try {
            return config.resolve(ConfigResolveOptions.defaults());
        } catch (ConfigException e) {
            throw fromConfigException(e, "(unknown)");
        }
    }

    /** Converts a syntax or substitution error, which Typesafe Config reports one at a time, into a problem. */
    private static InvalidConfigException fromConfigException(ConfigException e, String fallbackFile) {
        String file = e.origin() == null ? fallbackFile : ProblemCollector.fileOf(e.origin());
        String message = e.getMessage();
        String prefix = e.origin() == null ? "" : e.origin().description() + ": ";
        if (message.startsWith(prefix)) {
            message = message.substring(prefix.length());
        }
        if (e instanceof ConfigException.Parse && !(e instanceof ConfigException.UnresolvedSubstitution)) {
            message = "syntax error: " + message;
        }
        return new InvalidConfigException(List.of(new ConfigProblem(file, ProblemCollector.lineOf(e.origin()), "",
                message)));
    }

    private static InvalidConfigException single(String file, String message) {
        return new InvalidConfigException(List.of(new ConfigProblem(file, 0, "", message)));
    }

    /** The {@code smtplb} part of every {@code reference.conf} on the class path, parsed once. */
    private static final class Reference {
        static final Config CONFIG = ConfigFactory.parseResources(SettingsLoader.class.getClassLoader(),
                "reference.conf", ConfigParseOptions.defaults().setAllowMissing(false)).withOnlyPath("smtplb");
    }
}
