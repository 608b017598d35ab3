package io.smtplb.config;

import com.typesafe.config.ConfigOrigin;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Collects the problems of one configuration so that all of them are reported together.
 *
 * <p>A value whose container is broken (an object written where a list belongs, say) would otherwise produce
 * one follow-up problem per missing child; {@link #addBroken} records such a container, and later problems at
 * or below its path are dropped.
 */
final class ProblemCollector {

    private static final Pattern LINE_SUFFIX = Pattern.compile(": \\d+(-\\d+)?$");

    private final List<ConfigProblem> problems = new ArrayList<>();
    private final Set<String> brokenPaths = new HashSet<>();

    /** Records a problem at the place {@code origin} points to. */
    void add(ConfigOrigin origin, String path, String message) {
        add(fileOf(origin), lineOf(origin), path, message);
    }

    /** Records a problem unless it repeats one already recorded or lies inside a broken container. */
    void add(String file, int line, String path, String message) {
        if (isInsideBrokenPath(path)) {
            return;
        }

        ConfigProblem problem = new ConfigProblem(file, line, path, message);
        if (!problems.contains(problem)) {
            problems.add(problem);
        }
    }

    /** Records a problem with a container value and drops later problems about its contents. */
    void addBroken(ConfigOrigin origin, String path, String message) {
        add(origin, path, message);
        brokenPaths.add(path);
    }

    boolean isEmpty() {
        return problems.isEmpty();
    }

    /** Throws an {@link InvalidConfigException} listing every recorded problem, if there is any. */
    void throwIfAny() throws InvalidConfigException {
        if (!problems.isEmpty()) {
            throw new InvalidConfigException(sorted());
        }
    }

    /** Returns the problems grouped by file, in order of each file's first problem, and by line within a file. */
    List<ConfigProblem> sorted() {
        Map<String, List<ConfigProblem>> byFile = new LinkedHashMap<>();
        for (ConfigProblem problem : problems) {
            byFile.computeIfAbsent(problem.file(), file -> new ArrayList<>()).add(problem);
        }

        List<ConfigProblem> result = new ArrayList<>(problems.size());
        for (List<ConfigProblem> fileProblems : byFile.values()) {
            fileProblems.sort(Comparator.comparingInt(ConfigProblem::line));
            result.addAll(fileProblems);
        }
        return result;
    }

    /** Returns the file name or resource name of an origin, without the line number that Typesafe Config adds. */
    static String fileOf(ConfigOrigin origin) {
        if (origin == null) {
            return "(unknown)";
        }
        if (origin.filename() != null) {
            return origin.filename();
        }
        if (origin.resource() != null) {
            return origin.resource();
        }
        return LINE_SUFFIX.matcher(origin.description()).replaceFirst("");
    }

    /** Returns the 1-based line of an origin, or 0 when it has none. */
    static int lineOf(ConfigOrigin origin) {
        return origin == null ? 0 : Math.max(0, origin.lineNumber());
    }

    private boolean isInsideBrokenPath(String path) {
        for (String broken : brokenPaths) {
            boolean inside = path.equals(broken) || path.startsWith(broken + ".") || path.startsWith(broken + "[");
            if (inside) {
                return true;
            }
        }
        return false;
    }
}
