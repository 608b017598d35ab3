package io.smtplb.config;

import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** State shared by the readers while one configuration is loaded. */
final class LoadContext {

    /** One bound address and where the file sets it, for the duplicate-bind check. */
    record BindSite(InetSocketAddress address, String path, ConfigValue value) {
    }

    private final ProblemCollector problems;
    private final HostResolver resolver;
    private final Path baseDirectory;
    private final List<BindSite> binds = new ArrayList<>();
    private String localHostName;

    /**
     * @param baseDirectory directory that relative file names are resolved against, or {@code null} to leave
     *                      them relative to the working directory
     */
    LoadContext(ProblemCollector problems, HostResolver resolver, Path baseDirectory) {
        this.problems = problems;
        this.resolver = resolver;
        this.baseDirectory = baseDirectory;
    }

    ProblemCollector problems() {
        return problems;
    }

    HostResolver resolver() {
        return resolver;
    }

    /** Records an address that a listener or the admin endpoint binds. */
    void addBind(BindSite site) {
        binds.add(site);
    }

    List<BindSite> binds() {
        return binds;
    }

    /** Returns this machine's host name, looked up once per load. */
    String localHostName() {
        if (localHostName == null) {
            localHostName = resolver.localHostName();
        }
        return localHostName;
    }

    /**
     * Resolves a file name from the configuration against the directory of the configuration file.
     *
     * @throws java.nio.file.InvalidPathException when the text is not a valid path
     */
    Path resolvePath(String text) {
        Path path = Path.of(text);
        return path.isAbsolute() || baseDirectory == null ? path : baseDirectory.resolve(path);
    }

    /** Returns {@code value} if it is an object, else {@code fallback}; the schema check reports the wrong kind. */
    static ConfigObject objectOr(ConfigValue value, ConfigObject fallback) {
        return value != null && value.valueType() == ConfigValueType.OBJECT ? (ConfigObject) value : fallback;
    }

    /** Returns {@code value} if it is an object, else an empty object. */
    static ConfigObject objectOrEmpty(ConfigValue value) {
        return objectOr(value, ConfigFactory.empty().root());
    }
}
